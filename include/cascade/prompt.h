// A prompt: text (tokenized by the model's tokenizer) or token ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cascade {

struct Prompt {
  std::string text;
  std::vector<int32_t> token_ids;
  bool is_tokens = false;

  Prompt(std::string t) : text(std::move(t)) {}  // NOLINT: implicit, like nano-vllm's str
  Prompt(const char* t) : text(t) {}             // NOLINT
  Prompt(std::vector<int32_t> ids) : token_ids(std::move(ids)), is_tokens(true) {}  // NOLINT
};

}  // namespace cascade

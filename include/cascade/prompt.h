// A prompt: plain text or token ids (nano-vllm), or a composed prompt: context chunks
// followed by a question.
//   Prompt{.text = "Hello"}
//   Prompt{.token_ids = {1, 2, 3}}
//   Prompt{.chunks = {sys, doc1, doc2}, .text = "Where is Crystalton located?"}
//
// A composed prompt is framed by the model's chat template (Framing::Chat, the default):
// the leading system chunks become the system turn, the context chunks and the text the
// user turn, and the assistant turn is opened:
//   <|im_start|>system\n{system chunks}<|im_end|>\n<|im_start|>user\n   (the prefix chunk)
//   {context chunks, each tokenized on its own}
//   {text}<|im_end|>\n<|im_start|>assistant\n                            (the request's own)
// With Framing::Raw the chunks and the text are used as they are. A prompt without
// chunks is always used as it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cascade/chunk.h"

namespace cascade {

struct Prompt {
  enum class Framing { Chat, Raw };

  std::vector<Chunk> chunks;       // context, in prompt order, before the text
  std::string text;                // the prompt, or the question after the chunks
  std::vector<int32_t> token_ids;  // used instead of text when not empty
  Framing framing = Framing::Chat;
  // Qwen3 chat framing: false closes an empty think block after the assistant's turn
  // opens (the template's enable_thinking=false); nullopt: the template's default.
  std::optional<bool> enable_thinking;
};

}  // namespace cascade

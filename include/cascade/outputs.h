// What generate() and step() return: nano-vllm's shape plus why a request ended.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cascade {

enum class FinishReason { None, Stop, Length, Abort };
const char* finish_reason_name(FinishReason reason);  // "", "stop", "length", "abort"

struct RequestOutput {
  int64_t request_id = -1;
  // The whole output, in the output of the step that finishes the request (generate()
  // returns only those); empty in the steps before, which carry the deltas below.
  std::string text;                // generated text (stop string excluded)
  std::vector<int32_t> token_ids;  // generated token ids
  // `text` split at Qwen3's "<think>…</think>" (src/text/reasoning_parser.h): the
  // reasoning, and the answer; a text without a think block is all answer.
  std::string reasoning_content;
  std::string content;
  int num_prompt_tokens = 0;
  int num_cached_tokens = 0;  // prompt tokens served from the prefix cache
  FinishReason finish_reason = FinishReason::None;
  bool finished() const { return finish_reason != FinishReason::None; }

  // Filled by step() for streaming: what this step added.
  std::string text_delta;
  std::string reasoning_content_delta;
  std::string content_delta;
  std::vector<int32_t> token_ids_delta;
};

}  // namespace cascade

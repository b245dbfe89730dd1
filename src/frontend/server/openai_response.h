// OpenAI response bodies: a whole completion, or the chunks of a streamed one.
//   text:  {"object": "text_completion", "choices": [{"text": ...}]}
//   chat:  {"object": "chat.completion", "choices": [{"message": {"role", "content",
//           "reasoning_content"}}]}, streamed as "chat.completion.chunk" with "delta"s.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "cascade/outputs.h"

namespace cascade {

enum class Endpoint { Completion, Chat };

// What every chunk of one response repeats.
struct ResponseInfo {
  Endpoint endpoint = Endpoint::Chat;
  std::string id;       // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

ResponseInfo new_response_info(Endpoint endpoint, const std::string& model);

nlohmann::json usage_json(const RequestOutput& output);
// The whole response of a finished request (non-streaming).
nlohmann::json completion_json(const ResponseInfo& info, const RequestOutput& output);

// Streaming. The chat stream opens with the assistant's role; each step's deltas follow,
// the last with its finish_reason; with stream_options.include_usage, one more chunk with
// no choices carries the usage.
nlohmann::json role_chunk(const ResponseInfo& info);
// Null when the output added nothing and did not finish.
nlohmann::json delta_chunk(const ResponseInfo& info, const RequestOutput& output);
nlohmann::json usage_chunk(const ResponseInfo& info, const RequestOutput& output);

// One server-sent event: "data: {json}\n\n".
std::string sse_event(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace cascade

// OpenAI request bodies (/v1/completions, /v1/chat/completions) turned into a Prompt and
// SamplingParams. Every field is checked here, at the boundary: a bad one is a 400 that
// names it, an unknown one too (a misspelt parameter must not be silently ignored).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "cascade/prompt.h"
#include "cascade/sampling_params.h"
#include "frontend/server/request_fields.h"
#include "text/chat_template.h"

namespace cascade {

// What the server serves, as requests see it.
struct ServedModel {
  std::string name;                  // the `model` requests must name
  std::optional<ChatTemplate> chat;  // none: the checkpoint ships no chat template
  int max_model_len = 0;
};

struct GenerationRequest {
  Prompt prompt;
  SamplingParams params;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
};

GenerationRequest parse_chat_request(const json& body, const ServedModel& model);
GenerationRequest parse_completion_request(const json& body, const ServedModel& model);

// Shared by both: `model`, the sampling fields and the stream flags.
extern const std::array<std::string_view, 17> kSharedFields;  // what these read
void check_model(const json& body, const ServedModel& model);
SamplingParams parse_sampling(const json& body, const ServedModel& model);
void parse_stream_flags(const json& body, GenerationRequest& request);

}  // namespace cascade

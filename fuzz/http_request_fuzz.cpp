// Fuzzes the OpenAI request bodies the server reads: the first byte picks the route
// (/v1/completions or /v1/chat/completions), the rest is the body. A 4xx ApiError or a
// cascade::Error is a correct rejection; what is accepted must be a request the engine can
// queue: valid sampling parameters and a prompt with something in it.
#include "frontend/server/api_error.h"
#include "frontend/server/generation_request.h"
#include "fuzz_input.h"

namespace {

const cascade::ServedModel& served_model() {
  static const cascade::ServedModel model{
      .name = "cascade-tiny-qwen3", .chat = cascade::ChatTemplate::qwen3(), .max_model_len = 2048};
  return model;
}

void check_accepted(const cascade::GenerationRequest& request) {
  using cascade::fuzz::require;
  request.params.validate();  // throws cascade::Error: a finding here (accepted, yet invalid)
  const cascade::Prompt& p = request.prompt;
  require(!p.text.empty() || !p.token_ids.empty() || !p.chunks.empty());
  require(!request.include_usage || request.stream);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  if (size == 0) return 0;
  const bool chat = data[0] & 1;
  const std::string body = fuzz::as_text(data + 1, size - 1);
  try {
    const json parsed = parse_json_object(body);
    const GenerationRequest request = chat ? parse_chat_request(parsed, served_model())
                                           : parse_completion_request(parsed, served_model());
    try {
      check_accepted(request);
    } catch (const Error&) {
      __builtin_trap();
    }
  } catch (const ApiError& e) {
    fuzz::require(e.status >= 400 && e.status < 500 && e.what()[0] != '\0');
  } catch (const Error&) {
  }
  return 0;
}

// POST /v1/completions: a raw prompt (text or token ids), documents before it.
#include "frontend/server/api_error.h"
#include "frontend/server/documents_field.h"
#include "frontend/server/generation_request.h"

namespace cascade {
namespace {

bool is_token_ids(const json& v) {
  if (!v.is_array() || v.empty()) return false;
  for (const json& id : v) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return false;
    }
  }
  return true;
}

// A string, a token-id array, or a batch of one of those (n prompts per request: only 1).
void parse_prompt(const json& body, Prompt& prompt) {
  const json* v = find_field(body, "prompt");
  if (!v) throw bad_request("'prompt' is required", "prompt", "missing_required_parameter");
  const json* one = v;
  if (v->is_array() && v->size() == 1 && ((*v)[0].is_string() || (*v)[0].is_array())) {
    one = &(*v)[0];
  } else if (v->is_array() && !v->empty() && ((*v)[0].is_string() || (*v)[0].is_array())) {
    throw bad_request(
        "only one prompt per request is supported (got " + std::to_string(v->size()) + ")",
        "prompt", "unsupported_parameter");
  }
  if (one->is_string()) {
    prompt.text = one->get<std::string>();
  } else if (is_token_ids(*one)) {
    prompt.token_ids = one->get<std::vector<int32_t>>();
  } else {
    throw bad_request("'prompt' must be a string or an array of token ids", "prompt",
                      "invalid_type");
  }
}

}  // namespace

GenerationRequest parse_completion_request(const json& body, const ServedModel& model) {
  reject_unknown_fields(body,
                        {"prompt", "documents", "logprobs", "echo", "suffix", "best_of", "user"},
                        kSharedFields);
  check_model(body, model);
  require_default(body, "logprobs", 0, "log probabilities are not implemented");
  require_default(body, "echo", false, "echo is not implemented");
  require_default(body, "suffix", "", "suffixes (insertion) are not implemented");
  require_default(body, "best_of", 1, "best_of is not implemented");
  string_field(body, "user");  // an end-user id for the caller's logs: type-checked only

  GenerationRequest request;
  request.prompt.framing = Prompt::Framing::Raw;
  parse_prompt(body, request.prompt);
  request.prompt.chunks = parse_documents(body);
  request.params = parse_sampling(body, model);
  parse_stream_flags(body, request);
  return request;
}

}  // namespace cascade

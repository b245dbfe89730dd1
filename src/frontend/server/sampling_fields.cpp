// The fields both generation endpoints share: model, sampling, stop, stream.
#include <limits>

#include "base/error.h"
#include "frontend/server/api_error.h"
#include "frontend/server/generation_request.h"

namespace cascade {
namespace {

// SamplingParams::validate names the parameter first ("top_p must be ...", "stop[1] ...").
std::string param_of(const std::string& message) {
  const size_t end = message.find_first_of(" [");
  return message.substr(0, end);
}

int token_limit(const json& body, const ServedModel& model) {
  std::optional<int64_t> n = integer_field(body, "max_completion_tokens");
  const char* name = "max_completion_tokens";
  if (!n) {
    n = integer_field(body, "max_tokens");
    name = "max_tokens";
  }
  if (!n) return model.max_model_len;  // until EOS or the context is full
  if (*n < 1) {
    throw bad_request(std::string(name) + " must be >= 1 (got " + std::to_string(*n) + ")", name);
  }
  return static_cast<int>(std::min<int64_t>(*n, std::numeric_limits<int>::max()));
}

}  // namespace

const std::array<std::string_view, 17> kSharedFields = {"model",
                                                        "max_tokens",
                                                        "max_completion_tokens",
                                                        "temperature",
                                                        "top_p",
                                                        "top_k",
                                                        "seed",
                                                        "stop",
                                                        "n",
                                                        "stream",
                                                        "stream_options",
                                                        "presence_penalty",
                                                        "frequency_penalty",
                                                        "logit_bias",
                                                        "ignore_eos",
                                                        "stop_token_ids",
                                                        "skip_special_tokens"};

void check_model(const json& body, const ServedModel& model) {
  const std::optional<std::string> name = string_field(body, "model");
  if (!name) throw bad_request("'model' is required", "model", "missing_required_parameter");
  if (*name != model.name) {
    throw ApiError(
        404, "The model '" + *name + "' does not exist (this server serves '" + model.name + "')",
        "invalid_request_error", "model", "model_not_found");
  }
}

SamplingParams parse_sampling(const json& body, const ServedModel& model) {
  SamplingParams p;
  p.max_tokens = token_limit(body, model);
  if (auto t = number_field(body, "temperature")) p.temperature = static_cast<float>(*t);
  if (auto t = number_field(body, "top_p")) p.top_p = static_cast<float>(*t);
  if (auto k = integer_field(body, "top_k")) {
    if (*k < -1) throw bad_request("top_k must be >= -1 (-1 or 0: off)", "top_k");
    p.top_k = static_cast<int>(std::min<int64_t>(std::max<int64_t>(*k, 0), 1 << 30));
  }
  if (auto s = integer_field(body, "seed")) p.seed = static_cast<uint64_t>(*s);
  p.stop = strings_field(body, "stop");
  if (auto v = bool_field(body, "ignore_eos")) p.ignore_eos = *v;
  if (auto v = bool_field(body, "skip_special_tokens")) p.skip_special_tokens = *v;
  if (const json* ids = find_field(body, "stop_token_ids")) {
    if (!ids->is_array()) throw bad_request("'stop_token_ids' must be an array", "stop_token_ids");
    for (const json& id : *ids) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
          id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        throw bad_request("'stop_token_ids' must hold token ids", "stop_token_ids");
      }
      p.stop_token_ids.push_back(id.get<int32_t>());
    }
  }
  if (auto n = integer_field(body, "n"); n && *n != 1) {
    throw bad_request("only n=1 is supported (got " + std::to_string(*n) + ")", "n",
                      "unsupported_parameter");
  }
  require_default(body, "presence_penalty", 0, "penalties are not implemented");
  require_default(body, "frequency_penalty", 0, "penalties are not implemented");
  require_default(body, "logit_bias", json::object(), "logit biases are not implemented");
  try {
    p.validate();
  } catch (const Error& e) {
    throw bad_request(e.what(), param_of(e.what()));
  }
  return p;
}

void parse_stream_flags(const json& body, GenerationRequest& request) {
  request.stream = bool_field(body, "stream").value_or(false);
  if (const json* options = find_field(body, "stream_options")) {
    if (!options->is_object()) {
      throw bad_request("'stream_options' must be an object", "stream_options");
    }
    if (!request.stream) {
      throw bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    }
    reject_unknown_fields(*options, {"include_usage"});
    request.include_usage = bool_field(*options, "include_usage").value_or(false);
  }
}

}  // namespace cascade

#include "frontend/server/openai_response.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace cascade {

using json = nlohmann::json;

namespace {

json finish_reason_json(const RequestOutput& output) {
  return output.finished() ? json(finish_reason_name(output.finish_reason)) : json();
}

json text_or_null(const std::string& s) {
  return s.empty() ? json() : json(s);
}

json chunk_envelope(const ResponseInfo& info, json choices) {
  return {{"id", info.id},
          {"object", info.endpoint == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
          {"created", info.created},
          {"model", info.model},
          {"choices", std::move(choices)}};
}

}  // namespace

ResponseInfo new_response_info(Endpoint endpoint, const std::string& model) {
  // Unique across restarts: a random base per process plus a counter.
  static const uint64_t base = std::random_device{}() * 0x9E3779B97F4A7C15ull;
  static std::atomic<uint64_t> counter{0};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(base + counter.fetch_add(1)));
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {endpoint, (endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + std::string(hex),
          std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

json usage_json(const RequestOutput& output) {
  const auto completion = static_cast<int64_t>(output.token_ids.size());
  return {{"prompt_tokens", output.num_prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", output.num_prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", output.num_cached_tokens}}}};
}

json completion_json(const ResponseInfo& info, const RequestOutput& output) {
  json choice = {
      {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason_json(output)}};
  if (info.endpoint == Endpoint::Chat) {
    choice["message"] = {{"role", "assistant"},
                         {"content", output.content},
                         {"reasoning_content", text_or_null(output.reasoning_content)}};
  } else {
    choice["text"] = output.text;
  }
  return {{"id", info.id},
          {"object", info.endpoint == Endpoint::Chat ? "chat.completion" : "text_completion"},
          {"created", info.created},
          {"model", info.model},
          {"choices", json::array({std::move(choice)})},
          {"usage", usage_json(output)}};
}

json role_chunk(const ResponseInfo& info) {
  json choice = {{"index", 0},
                 {"delta", {{"role", "assistant"}, {"content", ""}}},
                 {"logprobs", nullptr},
                 {"finish_reason", nullptr}};
  return chunk_envelope(info, json::array({std::move(choice)}));
}

json delta_chunk(const ResponseInfo& info, const RequestOutput& output) {
  json choice = {
      {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason_json(output)}};
  bool added = false;
  if (info.endpoint == Endpoint::Chat) {
    json delta = json::object();
    if (!output.reasoning_content_delta.empty()) {
      delta["reasoning_content"] = output.reasoning_content_delta;
    }
    if (!output.content_delta.empty()) delta["content"] = output.content_delta;
    added = !delta.empty();
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = output.text_delta;
    added = !output.text_delta.empty();
  }
  if (!added && !output.finished()) return nullptr;
  return chunk_envelope(info, json::array({std::move(choice)}));
}

json usage_chunk(const ResponseInfo& info, const RequestOutput& output) {
  json chunk = chunk_envelope(info, json::array());
  chunk["usage"] = usage_json(output);
  return chunk;
}

std::string sse_event(const json& data) {
  return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

}  // namespace cascade

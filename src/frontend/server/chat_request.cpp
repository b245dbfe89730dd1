// POST /v1/chat/completions: messages (and documents) rendered with the model's template.
#include "base/error.h"
#include "frontend/chat_prompt.h"
#include "frontend/server/api_error.h"
#include "frontend/server/documents_field.h"
#include "frontend/server/generation_request.h"

namespace cascade {
namespace {

// OpenAI allows content as an array of parts; text parts are joined, others refused.
json plain_content(json message, size_t index) {
  const auto content = message.find("content");
  if (message.is_object() && content != message.end() && content->is_array()) {
    std::string text;
    for (const json& part : *content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string()) {
        throw bad_request("messages[" + std::to_string(index) +
                              "].content: only text parts ({\"type\": \"text\", \"text\": ...}) "
                              "are supported",
                          "messages");
      }
      text += part["text"].get<std::string>();
    }
    *content = text;
  }
  return message;
}

std::vector<ChatMessage> parse_messages(const json& body) {
  const json* messages = find_field(body, "messages");
  if (!messages)
    throw bad_request("'messages' is required", "messages", "missing_required_parameter");
  if (!messages->is_array()) throw bad_request("'messages' must be an array", "messages");
  json plain = json::array();
  for (size_t i = 0; i < messages->size(); ++i) plain.push_back(plain_content((*messages)[i], i));
  try {
    return parse_chat_messages(plain.dump(), "messages");
  } catch (const Error& e) {
    throw bad_request(e.what(), "messages");
  }
}

ChatOptions parse_chat_options(const json& body) {
  ChatOptions options;
  if (const json* kwargs = find_field(body, "chat_template_kwargs")) {
    if (!kwargs->is_object()) {
      throw bad_request("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    }
    reject_unknown_fields(*kwargs, {"enable_thinking"});
    options.enable_thinking = bool_field(*kwargs, "enable_thinking");
  }
  return options;
}

}  // namespace

GenerationRequest parse_chat_request(const json& body, const ServedModel& model) {
  reject_unknown_fields(body,
                        {"messages", "documents", "logprobs", "top_logprobs", "user",
                         "chat_template_kwargs", "tools", "tool_choice", "response_format"},
                        kSharedFields);
  check_model(body, model);
  require_default(body, "logprobs", false, "log probabilities are not implemented");
  require_default(body, "top_logprobs", 0, "log probabilities are not implemented");
  require_default(body, "tools", json::array(), "tools are not implemented");
  require_default(body, "tool_choice", "none", "tools are not implemented");
  require_default(body, "response_format", {{"type", "text"}}, "only text output is implemented");
  string_field(body, "user");  // an end-user id for the caller's logs: type-checked only

  if (!model.chat) {
    throw bad_request("model '" + model.name + "' has no chat template; use /v1/completions",
                      "messages", "no_chat_template");
  }
  GenerationRequest request;
  std::vector<ChatMessage> messages = parse_messages(body);
  const std::vector<Chunk> documents = parse_documents(body);
  request.params = parse_sampling(body, model);
  parse_stream_flags(body, request);
  try {
    request.prompt =
        chat_prompt(*model.chat, std::move(messages), documents, parse_chat_options(body));
  } catch (const Error& e) {
    throw bad_request(e.what(), "messages");
  }
  return request;
}

}  // namespace cascade

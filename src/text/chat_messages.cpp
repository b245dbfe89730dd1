// parse_chat_messages: OpenAI-style JSON messages into ChatMessage, validated at the boundary.
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_error.h"
#include "text/chat_template.h"

namespace cascade {

using json = nlohmann::json;

namespace {

ChatMessage parse_message(const json& item, const std::string& where) {
  check(item.is_object(), where + ": expected an object with 'role' and 'content'");
  ChatMessage message;

  const auto role = item.find("role");
  check(role != item.end(), where + ": field 'role' is missing");
  check(role->is_string(), where + ": field 'role' must be a string");
  message.role = role->get<std::string>();
  check(
      message.role == "system" || message.role == "user" || message.role == "assistant" ||
          message.role == "tool",
      where + ": field 'role' is '" + message.role + "', expected system, user, assistant or tool");

  const auto content = item.find("content");
  check(content != item.end(), where + ": field 'content' is missing");
  check(content->is_string(), where + ": field 'content' must be a string");
  message.content = content->get<std::string>();

  const auto reasoning = item.find("reasoning_content");
  if (reasoning != item.end() && !reasoning->is_null()) {
    check(reasoning->is_string(), where + ": field 'reasoning_content' must be a string or null");
    message.reasoning_content = reasoning->get<std::string>();
  }

  // Null or [] render nothing in the templates; anything else would be a function call.
  const auto tool_calls = item.find("tool_calls");
  check(tool_calls == item.end() || tool_calls->is_null() ||
            (tool_calls->is_array() && tool_calls->empty()),
        where + ": field 'tool_calls' is not supported (tools and function calling are not " +
            "implemented)");
  return message;
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(const std::string& json_text,
                                             const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON: " + json_error_text(e));
  }
  check(root.is_array(), source + ": expected a JSON array of messages");
  check(!root.empty(), source + ": the messages array is empty");
  std::vector<ChatMessage> messages;
  messages.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    messages.push_back(parse_message(root[i], source + ": messages[" + std::to_string(i) + "]"));
  }
  return messages;
}

}  // namespace cascade

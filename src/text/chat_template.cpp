#include "text/chat_template.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_error.h"
#include "base/mapped_file.h"
#include "text/chat_renderers.h"

namespace cascade {

using json = nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// Detection looks for substrings that only the known template carries, so that whitespace or
// cosmetic edits between releases still match while a different template is rejected rather
// than rendered wrongly:
// - Qwen3: the reasoning logic (`last_query_index`, `reasoning_content`) and the
//   `enable_thinking` switch with its empty think block. Qwen3-2507 Instruct/Thinking templates
//   lack `enable_thinking` and render differently, so they are refused.
// - Qwen2.5 ChatML: its default system prompt, its assistant branch and no reasoning logic.
//   Qwen2 (default "You are a helpful assistant.") and Qwen2.5-Math differ and are refused.
// The needles are Jinja source text, so "\n" below is a backslash and an n, not a newline.
ChatTemplate ChatTemplate::from_jinja(const std::string& jinja, const std::string& source) {
  if (contains(jinja, "last_query_index") && contains(jinja, "reasoning_content") &&
      contains(jinja, "enable_thinking") && contains(jinja, R"('<think>\n\n</think>\n\n')")) {
    return qwen3();
  }
  if (contains(jinja, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") &&
      contains(jinja, R"(message.role == "assistant" and not message.tool_calls)") &&
      !contains(jinja, "<think>")) {
    return qwen25_chatml();
  }
  throw Error(source + ": unsupported chat_template (known: Qwen3, Qwen2.5 ChatML)");
}

ChatTemplate ChatTemplate::load(const std::string& model_dir) {
  // transformers saves the template beside the config as chat_template.jinja and prefers it.
  const std::string jinja_path = model_dir + "/chat_template.jinja";
  if (std::filesystem::exists(jinja_path)) {
    return from_jinja(read_text_file(jinja_path), jinja_path);
  }
  const std::string config_path = model_dir + "/tokenizer_config.json";
  if (!std::filesystem::exists(config_path)) {
    throw Error(config_path + ": file not found (needed for the chat template)");
  }
  json config;
  try {
    config = json::parse(read_text_file(config_path));
  } catch (const json::exception& e) {
    throw Error(config_path + ": not valid JSON: " + json_error_text(e));
  }
  check(config.is_object(), config_path + ": expected a JSON object at the top level");
  const auto field = config.find("chat_template");
  check(field != config.end() && !field->is_null(),
        config_path + ": field 'chat_template' is missing");
  check(field->is_string(), config_path + ": field 'chat_template' must be a string");
  return from_jinja(field->get<std::string>(), config_path);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 const ChatOptions& options) const {
  // The templates index messages[0]; HF fails there on an empty list. Unknown roles are
  // silently dropped by the templates; we refuse them so a typo cannot vanish from a prompt.
  check(!messages.empty(), "chat template: messages must not be empty");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    check(role == "system" || role == "user" || role == "assistant" || role == "tool",
          "chat template: messages[" + std::to_string(i) + "]: unknown role '" + role +
              "' (expected system, user, assistant or tool)");
  }
  switch (family_) {
    case Family::kQwen3:
      return render_qwen3(messages, options);
    case Family::kQwen25ChatML:
      return render_qwen25_chatml(messages, options);
  }
  throw Error("chat template: unknown template family");
}

}  // namespace cascade

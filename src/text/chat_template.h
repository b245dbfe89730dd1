// Chat prompts rendered exactly as Hugging Face `apply_chat_template(tokenize=False)` renders
// them for the Qwen3 and Qwen2.5 templates. We do not embed a Jinja engine: each known template
// is reimplemented natively and `load` recognises which one a checkpoint ships.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cascade {

struct ChatMessage {
  std::string role;  // system, user, assistant or tool
  std::string content;
  std::optional<std::string> reasoning_content;  // assistant only; nullopt = not given
};

struct ChatOptions {
  bool add_generation_prompt = true;
  std::optional<bool> enable_thinking;  // nullopt = not passed (the template's default)
};

class ChatTemplate {
 public:
  enum class Family { kQwen3, kQwen25ChatML };

  // Reads the chat template of a Hugging Face checkpoint folder (<dir>/chat_template.jinja if
  // present, as transformers does, else the "chat_template" field of
  // <dir>/tokenizer_config.json) and picks the renderer for it.
  static ChatTemplate load(const std::string& model_dir);
  // Recognises a template from its Jinja source; `source` names it in errors.
  static ChatTemplate from_jinja(const std::string& jinja, const std::string& source);
  static ChatTemplate qwen3() { return ChatTemplate(Family::kQwen3); }
  static ChatTemplate qwen25_chatml() { return ChatTemplate(Family::kQwen25ChatML); }

  Family family() const { return family_; }
  std::string render(const std::vector<ChatMessage>& messages, const ChatOptions& options) const;

 private:
  explicit ChatTemplate(Family family) : family_(family) {}
  Family family_;
};

// Parses an OpenAI-style JSON messages array ([{"role": ..., "content": ...}, ...]); `source`
// names the input in errors, which also name the message index and field.
std::vector<ChatMessage> parse_chat_messages(const std::string& json_text,
                                             const std::string& source);

}  // namespace cascade

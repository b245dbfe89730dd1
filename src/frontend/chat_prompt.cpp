#include "frontend/chat_prompt.h"

#include <algorithm>

#include "base/error.h"

namespace cascade {
namespace {

// Marks where the first user message starts in the rendered text; no tokenizer input
// contains it (control characters around a name).
constexpr std::string_view kDocumentsMark =
    "\x01\x02"
    "cascade-documents"
    "\x02\x01";

struct SplitPrompt {
  std::string head;
  std::string tail;
};

SplitPrompt render_split(const ChatTemplate& chat, std::vector<ChatMessage> messages,
                         const ChatOptions& options) {
  const auto user = std::find_if(messages.begin(), messages.end(),
                                 [](const ChatMessage& m) { return m.role == "user"; });
  check(user != messages.end(), "documents need a user message to go before");
  user->content.insert(0, kDocumentsMark);
  const std::string text = chat.render(messages, options);
  const size_t at = text.find(kDocumentsMark);
  check(at != std::string::npos && text.find(kDocumentsMark, at + 1) == std::string::npos,
        "the chat template does not place the user message once in the prompt");
  check(at > 0, "the chat template renders nothing before the first user message");
  return {text.substr(0, at), text.substr(at + kDocumentsMark.size())};
}

}  // namespace

Prompt chat_prompt(const ChatTemplate& chat, std::vector<ChatMessage> messages,
                   const std::vector<Chunk>& documents, const ChatOptions& options) {
  Prompt prompt;
  prompt.framing = Prompt::Framing::Raw;
  if (documents.empty()) {
    prompt.text = chat.render(messages, options);
    return prompt;
  }
  SplitPrompt split = render_split(chat, std::move(messages), options);
  prompt.chunks.push_back(Chunk::system(std::move(split.head)));
  prompt.chunks.insert(prompt.chunks.end(), documents.begin(), documents.end());
  prompt.text = std::move(split.tail);
  return prompt;
}

Chunk chat_documents_prefix(const ChatTemplate& chat, const std::optional<std::string>& system) {
  std::vector<ChatMessage> messages;
  if (system) messages.push_back({"system", *system, std::nullopt});
  messages.push_back({"user", "?", std::nullopt});
  return Chunk::system(render_split(chat, std::move(messages), ChatOptions{}).head);
}

}  // namespace cascade

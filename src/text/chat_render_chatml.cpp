// Qwen2.5's ChatML chat template, natively (tools excluded). Unlike Qwen3 it inserts a default
// system prompt and renders assistant turns verbatim, <think> text included.
#include "text/chat_renderers.h"

namespace cascade {

std::string render_qwen25_chatml(const std::vector<ChatMessage>& messages,
                                 const ChatOptions& options) {
  std::string out = "<|im_start|>system\n";
  out += messages.front().role == "system"
             ? messages.front().content
             : "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  out += "<|im_end|>\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role == "user" || message.role == "assistant" ||
        (message.role == "system" && i != 0)) {
      out += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n";
    } else if (message.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + message.content + "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  // The template has no enable_thinking: the option is accepted and has no effect, as in HF.
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace cascade

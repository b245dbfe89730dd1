// Qwen3's chat template, natively. Jinja source: the "chat_template" field of Qwen3's
// tokenizer_config.json; the comments quote the parts each step reproduces.
#include <string_view>

#include "text/chat_renderers.h"

namespace cascade {
namespace {

// Python's str.lstrip('\n') / rstrip('\n') / strip('\n').
std::string_view lstrip_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
std::string_view rstrip_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}
std::string_view strip_newlines(std::string_view s) {
  return rstrip_newlines(lstrip_newlines(s));
}

// s.split(sep)[0] and s.split(sep)[-1]: the text before the first / after the last `sep`.
std::string_view before_first(std::string_view s, std::string_view sep) {
  return s.substr(0, s.find(sep));
}
std::string_view after_last(std::string_view s, std::string_view sep) {
  const size_t at = s.rfind(sep);
  return at == std::string_view::npos ? s : s.substr(at + sep.size());
}

bool is_tool_response(std::string_view content) {
  return content.starts_with("<tool_response>") && content.ends_with("</tool_response>");
}

// ns.last_query_index: the last user turn that is a real query (not a tool response passed back
// as a user message); the final index when there is none. Only assistant turns after it keep
// their <think> block.
size_t last_query_index(const std::vector<ChatMessage>& messages) {
  for (size_t i = messages.size(); i-- > 0;) {
    if (messages[i].role == "user" && !is_tool_response(messages[i].content)) return i;
  }
  return messages.size() - 1;
}

void append_assistant(std::string& out, const ChatMessage& message, bool keeps_reasoning,
                      bool is_last) {
  std::string_view content = message.content;
  std::string_view reasoning;
  if (message.reasoning_content) {
    reasoning = *message.reasoning_content;
  } else if (content.find("</think>") != std::string_view::npos) {
    // content = content.split('</think>')[-1].lstrip('\n')
    // reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
    const std::string_view whole = message.content;
    content = lstrip_newlines(after_last(whole, "</think>"));
    reasoning =
        lstrip_newlines(after_last(rstrip_newlines(before_first(whole, "</think>")), "<think>"));
  }
  out += "<|im_start|>assistant\n";
  if (keeps_reasoning && (is_last || !reasoning.empty())) {
    out += "<think>\n";
    out += strip_newlines(reasoning);
    out += "\n</think>\n\n";
    out += lstrip_newlines(content);
  } else {
    out += content;
  }
  out += "<|im_end|>\n";
}

}  // namespace

std::string render_qwen3(const std::vector<ChatMessage>& messages, const ChatOptions& options) {
  std::string out;
  if (messages.front().role == "system") {
    out += "<|im_start|>system\n" + messages.front().content + "<|im_end|>\n";
  }
  const size_t last_query = last_query_index(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const bool is_last = i + 1 == messages.size();
    if (message.role == "user" || (message.role == "system" && i != 0)) {
      out += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n";
    } else if (message.role == "assistant") {
      append_assistant(out, message, i > last_query, is_last);
    } else if (message.role == "tool") {
      // Consecutive tool turns share one user turn of <tool_response> blocks.
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + message.content + "\n</tool_response>";
      if (is_last || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    // `enable_thinking is defined and enable_thinking is false`: only an explicit false.
    if (options.enable_thinking == false) out += "<think>\n\n</think>\n\n";
  }
  return out;
}

}  // namespace cascade

// The natively reimplemented chat templates behind ChatTemplate::render. Each function follows
// its Jinja source line by line; messages are already validated (non-empty, known roles).
#pragma once

#include <string>
#include <vector>

#include "text/chat_template.h"

namespace cascade {

// Qwen3 (hybrid thinking): tokenizer_config.json of Qwen/Qwen3-*, tools excluded.
std::string render_qwen3(const std::vector<ChatMessage>& messages, const ChatOptions& options);

// Qwen2.5 ChatML: a default system prompt when none is given, no reasoning handling.
std::string render_qwen25_chatml(const std::vector<ChatMessage>& messages,
                                 const ChatOptions& options);

}  // namespace cascade

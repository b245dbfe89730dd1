// Chat messages (and documents) as a Prompt, rendered with the model's own chat template.
//
// Without documents the prompt is the rendered text. With documents, the rendered text is
// split where the first user message begins: what comes before (the system turn and the
// opening of the user turn) becomes the system chunk the documents are cached after, the
// documents follow as context chunks, and the rest is the request's own text. The tokens
// are those of the rendered conversation with the documents at the start of the first user
// message; the framing is Raw because the template has already been applied.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cascade/chunk.h"
#include "cascade/prompt.h"
#include "text/chat_template.h"

namespace cascade {

// Throws Error when documents are given but no message is from the user.
Prompt chat_prompt(const ChatTemplate& chat, std::vector<ChatMessage> messages,
                   const std::vector<Chunk>& documents, const ChatOptions& options);

// The system chunk that documents follow in chat prompts with this system message (or
// none): register documents after it (LLM::add_chunk with Framing::Raw) to share their KV
// with chat requests.
Chunk chat_documents_prefix(const ChatTemplate& chat, const std::optional<std::string>& system);

}  // namespace cascade

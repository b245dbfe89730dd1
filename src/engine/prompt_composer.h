// Turns a composed Prompt (chunks + text) into token runs: one per chunk, each tokenized
// on its own, and the request's own tokens, with the chat framing of include/cascade/
// prompt.h. Chunk references (Chunk::ref) are resolved through the ChunkLibrary.
#pragma once

#include <memory>
#include <vector>

#include "cascade/prompt.h"
#include "engine/chunk_library.h"
#include "engine/tokenized_text_cache.h"
#include "text/tokenizer.h"

namespace cascade {

struct ComposedChunk {
  ChunkKind kind = ChunkKind::Context;
  std::shared_ptr<const std::vector<int32_t>> tokens;
};

struct ComposedPrompt {
  std::vector<ComposedChunk> chunks;  // leading system chunks first
  std::vector<int32_t> own_tokens;
};

// Throws Error naming the chunk (`chunks[i]`) or field that is wrong: an empty chunk, a
// system chunk after a context chunk, an unknown id, token ids outside [0, vocab), chat
// framing with a tokenizer that has no <|im_start|>.
// `chunks_only`: the prompt's text is not used (own_tokens stays empty). `text_cache`, when
// given, tokenizes each chunk text once while it stays cached.
ComposedPrompt compose_prompt(const Prompt& prompt, const Tokenizer& tokenizer, int vocab,
                              const ChunkLibrary& library, bool chunks_only = false,
                              TokenizedTextCache* text_cache = nullptr);

// Checks that every id is in [0, vocab); `what` names the field in the error.
void check_token_ids(const std::vector<int32_t>& ids, int vocab, const std::string& what);

}  // namespace cascade

// A context chunk: a reusable piece of a prompt (a system prompt, a document, a retrieved
// passage) whose KV cache is computed once and shared by every request that contains it.
//   Chunk::system("You answer questions using only the documents.")
//   Chunk::context("Document: Crystalton is a city in Nebulonia.\n\n")
//   Chunk::ref(id)   // a chunk registered ahead with LLM::add_chunk
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cascade {

// System chunks lead a prompt and form the prefix that context chunks are cached after
// in compositional mode; context chunks are the reusable documents.
enum class ChunkKind { System, Context };
const char* chunk_kind_name(ChunkKind kind);  // "system", "context"

struct Chunk {
  std::string text;                // tokenized on its own
  std::vector<int32_t> token_ids;  // used instead of text when not empty
  ChunkKind kind = ChunkKind::Context;
  std::string id;  // a registered chunk's id (64 hex digits) instead of text / token_ids

  static Chunk system(std::string text) { return {std::move(text), {}, ChunkKind::System, {}}; }
  static Chunk context(std::string text) { return {std::move(text), {}, ChunkKind::Context, {}}; }
  static Chunk ref(std::string id) { return {{}, {}, ChunkKind::Context, std::move(id)}; }
};

// What LLM::list_chunks reports for a registered chunk.
struct ChunkInfo {
  std::string id;
  ChunkKind kind = ChunkKind::Context;
  int num_tokens = 0;
  int64_t uses = 0;  // requests that referenced it
};

}  // namespace cascade

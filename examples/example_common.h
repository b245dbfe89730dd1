// What the examples share: the bundled model's framing and a statistics line.
#pragma once

#include <cstdio>
#include <string>

#include "cascade/llm.h"

namespace example {

// The bundled model (models/cascade-tiny-qwen3) was trained on this system prompt,
// documents as "Document: ...\n\n" and questions as "Question: ...".
inline cascade::Chunk system_chunk() {
  return cascade::Chunk::system("You answer questions using only the documents.");
}
inline cascade::Chunk document(const std::string& text) {
  return cascade::Chunk::context("Document: " + text + "\n\n");
}
inline std::string question(const std::string& text) {
  return "Question: " + text;
}

inline std::string model_dir(int argc, char** argv) {
  return argc > 1 ? argv[1] : CASCADE_EXAMPLE_MODEL;
}

inline void print_registry(const cascade::EngineStats& s) {
  std::printf(
      "chunk registry: %lld entries, %lld pages (%lld bytes), %lld hits, %lld misses, "
      "%lld evictions; chunk tokens reused %lld, computed %lld\n",
      static_cast<long long>(s.chunk_entries), static_cast<long long>(s.chunk_pages),
      static_cast<long long>(s.chunk_bytes), static_cast<long long>(s.chunk_hits),
      static_cast<long long>(s.chunk_misses), static_cast<long long>(s.chunk_evictions),
      static_cast<long long>(s.chunk_tokens_reused),
      static_cast<long long>(s.chunk_tokens_computed));
}

}  // namespace example

// A document as a context chunk, framed the way cascade's models read documents
// ("Document: {text}\n\n", tools/worldgen.py). Every frontend frames documents through
// this one function, so the same text is the same chunk (and the same cached KV) whether
// it came inline in a request, from POST /v1/chunks, or from a file.
#pragma once

#include <string>

#include "cascade/chunk.h"

namespace cascade {

inline Chunk document_chunk(const std::string& text) {
  return Chunk::context("Document: " + text + "\n\n");
}

}  // namespace cascade

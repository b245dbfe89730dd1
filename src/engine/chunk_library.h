// Chunks registered ahead of use (LLM::add_chunk): id -> kind and tokens, so that prompts
// can reference them by id. The library holds tokens, not KV: the KV lives in the
// ChunkRegistry, cached and evicted like any other chunk's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cascade/chunk.h"

namespace cascade {

struct LibraryChunk {
  ChunkKind kind = ChunkKind::Context;
  std::shared_ptr<const std::vector<int32_t>> tokens;
  int64_t uses = 0;
};

class ChunkLibrary {
 public:
  // Adds (or finds) the chunk under `id`; returns the stored entry.
  const LibraryChunk& add(const std::string& id, ChunkKind kind, std::vector<int32_t> tokens);
  // nullptr when unknown.
  const LibraryChunk* find(const std::string& id) const;
  void count_use(const std::string& id);
  bool remove(const std::string& id);
  std::vector<ChunkInfo> list() const;

 private:
  std::map<std::string, LibraryChunk> chunks_;
};

}  // namespace cascade

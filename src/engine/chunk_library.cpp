#include "engine/chunk_library.h"

namespace cascade {

const LibraryChunk& ChunkLibrary::add(const std::string& id, ChunkKind kind,
                                      std::vector<int32_t> tokens) {
  const auto [it, inserted] = chunks_.try_emplace(id);
  if (inserted) {
    it->second.kind = kind;
    it->second.tokens = std::make_shared<const std::vector<int32_t>>(std::move(tokens));
  }
  return it->second;
}

const LibraryChunk* ChunkLibrary::find(const std::string& id) const {
  const auto it = chunks_.find(id);
  return it == chunks_.end() ? nullptr : &it->second;
}

void ChunkLibrary::count_use(const std::string& id) {
  if (const auto it = chunks_.find(id); it != chunks_.end()) ++it->second.uses;
}

bool ChunkLibrary::remove(const std::string& id) {
  return chunks_.erase(id) > 0;
}

std::vector<ChunkInfo> ChunkLibrary::list() const {
  std::vector<ChunkInfo> out;
  for (const auto& [id, chunk] : chunks_) {
    out.push_back({id, chunk.kind, static_cast<int>(chunk.tokens->size()), chunk.uses});
  }
  return out;
}

}  // namespace cascade

#include "engine/chunk_layout.h"

#include <xxhash.h>

namespace cascade {

void lay_out_chunks(const std::vector<ComposedChunk>& chunks, ChunkMode mode,
                    const ChunkKey& model_fingerprint, Sequence& seq) {
  int num_system = 0;
  while (num_system < static_cast<int>(chunks.size()) &&
         chunks[static_cast<size_t>(num_system)].kind == ChunkKind::System) {
    ++num_system;
  }
  seq.chunks.clear();
  std::vector<int> starts;  // logical start of each chunk
  int offset = 0;
  for (size_t j = 0; j < chunks.size(); ++j) {
    const int index = static_cast<int>(j);
    SequenceChunk c;
    c.kind = chunks[j].kind;
    c.tokens = chunks[j].tokens;
    c.num_parents = (mode == ChunkMode::Exact || index < num_system) ? index : num_system;
    c.canonical_start = c.num_parents > 0
                            ? starts[static_cast<size_t>(c.num_parents - 1)] +
                                  seq.chunks[static_cast<size_t>(c.num_parents - 1)].length()
                            : 0;
    c.logical_start = offset;
    const ChunkKey* parent =
        c.num_parents > 0 ? &seq.chunks[static_cast<size_t>(c.num_parents - 1)].key : nullptr;
    c.key = make_chunk_key(model_fingerprint, parent, *c.tokens);
    starts.push_back(offset);
    offset += c.length();
    seq.chunks.push_back(std::move(c));
  }
  seq.context_len = offset;
  // The chunks' keys in order fix their content, parents and places.
  uint64_t root = PrefixCache::kRootHash;
  for (const auto& c : seq.chunks) root = XXH3_64bits_withSeed(c.key.data(), c.key.size(), root);
  seq.prefix_root = root;
  seq.last_published_hash = root;
}

}  // namespace cascade

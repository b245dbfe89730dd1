// Where each chunk of a sequence sits and what its key is (DESIGN.md, "Chunks and
// positions"). A chunk's parent chain is the run of chunks its KV is computed after:
//   exact:         every chunk before it (outputs equal the plain prompt);
//   compositional: the leading system chunks (for a system chunk: the ones before it),
//                  so a context chunk has the same key wherever it is placed.
// canonical_start = length of the parent chain; logical_start = where this prompt puts it.
#pragma once

#include <vector>

#include "cache/chunk_key.h"
#include "cascade/engine_config.h"
#include "engine/prompt_composer.h"
#include "engine/sequence.h"

namespace cascade {

// Sets seq.chunks, seq.context_len and seq.prefix_root (the prefix-cache seed of the
// sequence's own tokens, which depend on every chunk and its place).
void lay_out_chunks(const std::vector<ComposedChunk>& chunks, ChunkMode mode,
                    const ChunkKey& model_fingerprint, Sequence& seq);

}  // namespace cascade

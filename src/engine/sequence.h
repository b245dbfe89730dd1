// One request's tokens and KV pages as the scheduler sees them.
//
// A composed prompt is context chunks followed by the request's own tokens. The chunks'
// KV lives in the ChunkRegistry (shared, pinned while the sequence uses them); the
// sequence's page table holds only its own tokens, which sit at logical positions
// context_len + i. A plain prompt has no chunks and context_len 0.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cache/chunk_key.h"
#include "cache/chunk_registry.h"
#include "cache/prefix_cache.h"
#include "cascade/chunk.h"
#include "cascade/outputs.h"
#include "cascade/sampling_params.h"

namespace cascade {

enum class SequenceStatus { Waiting, Running, Finished };

// A chunk as one sequence uses it.
struct SequenceChunk {
  ChunkKind kind = ChunkKind::Context;
  std::shared_ptr<const std::vector<int32_t>> tokens;
  ChunkKey key{};
  int num_parents = 0;          // its parent chain is the sequence's chunks [0, num_parents)
  int canonical_start = 0;      // where its KV was computed: the parent chain's length
  int logical_start = 0;        // where this prompt places it
  ChunkEntry* entry = nullptr;  // pinned while the sequence holds its chunks

  int length() const { return static_cast<int>(tokens->size()); }
  int rope_delta() const { return logical_start - canonical_start; }
};

struct Sequence {
  int64_t id = -1;
  std::vector<SequenceChunk> chunks;  // context levels, in prompt order
  int context_len = 0;                // tokens in chunks: the logical offset of `tokens`
  bool holds_chunks = false;          // chunk entries acquired (pinned)
  bool prefill_only = false;          // computes its chunks' KV and ends (LLM::add_chunk)
  uint64_t prefix_root = PrefixCache::kRootHash;  // prefix-cache chain seed of own tokens

  // Own prompt tokens, then generated tokens. With asynchronous scheduling the last one or
  // two may be pending: drawn by steps still in flight, their ids not yet known on the
  // host (< 0: the drawing step's sampling row -id - 1, which the next step reads where it
  // is drawn).
  std::vector<int32_t> tokens;
  int num_pending_tokens = 0;
  // The pending token is the last it generates (max_tokens, max_model_len): no more steps.
  bool last_token_pending = false;
  int num_prompt_tokens = 0;          // own prompt tokens (context_len not included)
  int num_computed_tokens = 0;        // own tokens whose KV is in the cache
  int num_cached_tokens = 0;          // prompt tokens served by caches (first admission)
  int num_cached_context_tokens = 0;  // of those, chunk tokens already computed
  std::vector<int32_t> pages;  // page table: page i holds own tokens [i·page_size, (i+1)·page_size)
  int num_published_pages = 0;  // leading full pages offered to the prefix cache
  uint64_t last_published_hash = PrefixCache::kRootHash;
  SequenceStatus status = SequenceStatus::Waiting;
  FinishReason finish_reason = FinishReason::None;
  SamplingParams params;
  int num_preemptions = 0;

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_generated() const { return num_tokens() - num_prompt_tokens; }  // pending ones too
  int num_known_tokens() const { return num_tokens() - num_pending_tokens; }
  int num_uncomputed() const { return num_tokens() - num_computed_tokens; }
  // Prompt length as the model sees it (chunks included).
  int total_prompt_tokens() const { return context_len + num_prompt_tokens; }
  bool chunks_ready() const {
    for (const auto& c : chunks) {
      if (!c.entry || !c.entry->computed) return false;
    }
    return true;
  }
};

}  // namespace cascade

// One request's tokens and KV pages as the scheduler sees them.
#pragma once

#include <cstdint>
#include <vector>

#include "cache/prefix_cache.h"
#include "cascade/outputs.h"
#include "cascade/sampling_params.h"

namespace cascade {

enum class SequenceStatus { Waiting, Running, Finished };

struct Sequence {
  int64_t id = -1;
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int num_prompt_tokens = 0;
  int num_computed_tokens = 0;  // tokens whose KV is in the cache
  int num_cached_tokens = 0;    // prompt tokens served by the prefix cache (first admission)
  std::vector<int32_t> pages;   // page table: page i holds tokens [i·page_size, (i+1)·page_size)
  int num_published_pages = 0;  // leading full pages offered to the prefix cache
  uint64_t last_published_hash = PrefixCache::kRootHash;
  SequenceStatus status = SequenceStatus::Waiting;
  FinishReason finish_reason = FinishReason::None;
  SamplingParams params;
  int num_preemptions = 0;

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_generated() const { return num_tokens() - num_prompt_tokens; }
  int num_uncomputed() const { return num_tokens() - num_computed_tokens; }
};

}  // namespace cascade

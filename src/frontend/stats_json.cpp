#include "frontend/stats_json.h"

namespace cascade {

nlohmann::json stats_json(const EngineStats& s) {
  return {
      {"steps", s.steps},
      {"prefill_tokens", s.prefill_tokens},
      {"decode_tokens", s.decode_tokens},
      {"preemptions", s.preemptions},
      {"page_pool",
       {{"pages", s.num_kv_pages},
        {"free_pages", s.num_free_kv_pages},
        {"page_size", s.page_size}}},
      {"prefix_cache",
       {{"queried_tokens", s.prefix_cache_queried_tokens},
        {"hit_tokens", s.prefix_cache_hit_tokens}}},
      {"chunk_registry",
       {{"entries", s.chunk_entries},
        {"pages", s.chunk_pages},
        {"bytes", s.chunk_bytes},
        {"hits", s.chunk_hits},
        {"misses", s.chunk_misses},
        {"evictions", s.chunk_evictions},
        {"tokens_reused", s.chunk_tokens_reused},
        {"tokens_computed", s.chunk_tokens_computed}}},
  };
}

}  // namespace cascade

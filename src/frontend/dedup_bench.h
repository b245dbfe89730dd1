// KV memory with and without chunk dedup (`cascade bench dedup`, scenario B5): many
// requests, each composed of some of a few shared chunks, run once as composed prompts
// (each chunk's KV stored once in the registry) and once as plain prompts without
// prefix caching (every request holds its own copy). Peak KV bytes in use are measured
// from the page pool during each run.
#pragma once

#include <cstdint>
#include <string>

#include "cascade/engine_config.h"

namespace cascade {

struct DedupWorkload {
  int num_requests = 64;
  int num_chunks = 8;
  int chunks_per_request = 4;
  int chunk_tokens = 256;
  int question_tokens = 16;
  int output_tokens = 8;
  uint32_t seed = 1;
};

struct DedupResult {
  int64_t bytes_per_page = 0;
  int64_t peak_pages_dedup = 0;     // composed prompts, compositional mode
  int64_t peak_pages_plain = 0;     // the same tokens as plain prompts, no prefix caching
  int64_t prefill_pages_dedup = 0;  // the same, held once the prompts are prefilled (B5)
  int64_t prefill_pages_plain = 0;
  int64_t chunk_pages = 0;  // pages the registry held at the end of the dedup run
  double ratio() const {
    return static_cast<double>(peak_pages_dedup) / static_cast<double>(peak_pages_plain);
  }
};

// `config` supplies device and threads; the rest is sized for the workload (all requests
// run at once).
DedupResult measure_dedup(const std::string& model_dir, const DedupWorkload& workload,
                          EngineConfig config);

}  // namespace cascade

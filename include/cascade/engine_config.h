// Engine settings: one object flows in, each component copies out what it needs
// (nano-vllm's Config, with cascade's fields under the seed's names).
#pragma once

#include <cstdint>
#include <string>

namespace cascade {

// How a context chunk's KV is keyed and positioned (DESIGN.md, "Chunks and positions").
//   Exact: a chunk follows the previous chunk of its prompt; outputs equal the plain prompt.
//   Compositional: a context chunk follows only the prompt's leading system chunks, so
//   its KV is reused in any order and position (queries are rotated by the offset).
enum class ChunkMode { Exact, Compositional };
const char* chunk_mode_name(ChunkMode mode);  // "exact", "compositional"

struct EngineConfig {
  // Scheduling (nano-vllm / vLLM names).
  int max_num_seqs = 256;              // sequences running at once
  int max_num_batched_tokens = 8192;   // tokens computed in one step
  int max_model_len = 4096;            // prompt + output tokens of one sequence
  bool enable_chunked_prefill = true;  // split long prompts over several steps
  // Schedule and queue step N+1 while step N runs (its tokens are read on the device),
  // so the GPU does not wait for the host between steps; outputs come one step later.
  // Off: each step is waited for before the next is scheduled. CASCADE_ASYNC_SCHEDULING=0
  // turns it off too.
  bool async_scheduling = true;

  // KV cache.
  int page_size = 16;                 // tokens per KV page
  int num_kv_pages = 0;               // 0: derived from kv_cache_memory_bytes
  int64_t kv_cache_memory_bytes = 0;  // 0: the device default (CPU: 1 GiB)
  bool enable_prefix_caching = true;

  // Device: "auto" (CUDA when present, else CPU), "cpu" or "cuda".
  std::string device = "auto";
  int num_threads = 0;                  // CPU threads; 0 = all cores
  float gpu_memory_utilization = 0.9f;  // share of GPU memory cascade may use (CUDA)
  // Ranks the model is split over (heads, MLP columns, vocabulary), one GPU each; on the
  // CPU several ranks run as threads of one process, for testing the sharding only.
  int tensor_parallel_size = 1;
  // Every step eager: no recorded decode steps (CUDA graphs), nano-vllm's name.
  bool enforce_eager = false;

  // Compositional context caching (the seed's names).
  bool enable_cascade_attention = false;
  float chunk_page_ratio = 0.5f;  // max share of the pool held by context chunks
  // Shared levels per sequence that may become shared tasks. The seed's 3 left five of a
  // prompt of 8 shared chunks read once per sequence (B2: cascade on/off only 1.45x).
  int max_cascade_levels = 16;
  // Shared levels shorter than this are read per sequence (a short level as one shared task
  // costs more than it saves; B3). -1: the backend's value (CUDA 256, measured on B3; CPU 16).
  int cascade_min_shared_tokens = -1;
  int chunk_registry_size = 1000;  // context chunks kept at most (LRU)
  ChunkMode chunk_mode = ChunkMode::Compositional;

  // Throws Error naming the field when a value is out of range.
  void validate() const;
};

}  // namespace cascade

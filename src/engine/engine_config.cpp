#include "cascade/engine_config.h"

#include <cmath>
#include <string>

#include "base/error.h"
#include "cascade/chunk.h"
#include "cascade/outputs.h"

namespace cascade {
namespace {

void require_positive(int value, const char* name) {
  check(value > 0, std::string(name) + " must be > 0 (got " + std::to_string(value) + ")");
}

}  // namespace

void EngineConfig::validate() const {
  require_positive(max_num_seqs, "max_num_seqs");
  require_positive(max_num_batched_tokens, "max_num_batched_tokens");
  require_positive(max_model_len, "max_model_len");
  require_positive(page_size, "page_size");
  check(num_kv_pages >= 0, "num_kv_pages must be >= 0 (got " + std::to_string(num_kv_pages) + ")");
  check(kv_cache_memory_bytes >= 0, "kv_cache_memory_bytes must be >= 0");
  check(device == "auto" || device == "cpu" || device == "cuda",
        "device must be 'auto', 'cpu' or 'cuda' (got '" + device + "')");
  check(num_threads >= 0, "num_threads must be >= 0 (got " + std::to_string(num_threads) + ")");
  require_positive(tensor_parallel_size, "tensor_parallel_size");
  check(std::isfinite(chunk_page_ratio) && chunk_page_ratio > 0 && chunk_page_ratio <= 1,
        "chunk_page_ratio must be in (0, 1] (got " + std::to_string(chunk_page_ratio) + ")");
  check(max_cascade_levels >= 0, "max_cascade_levels must be >= 0");
  check(cascade_min_shared_tokens >= -1,
        "cascade_min_shared_tokens must be >= 0, or -1 for the backend's default (got " +
            std::to_string(cascade_min_shared_tokens) + ")");
  require_positive(chunk_registry_size, "chunk_registry_size");
  check(std::isfinite(gpu_memory_utilization) && gpu_memory_utilization > 0 &&
            gpu_memory_utilization <= 1,
        "gpu_memory_utilization must be in (0, 1] (got " + std::to_string(gpu_memory_utilization) +
            ")");
}

const char* chunk_mode_name(ChunkMode mode) {
  return mode == ChunkMode::Exact ? "exact" : "compositional";
}

const char* chunk_kind_name(ChunkKind kind) {
  return kind == ChunkKind::System ? "system" : "context";
}

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::None:
      return "";
    case FinishReason::Stop:
      return "stop";
    case FinishReason::Length:
      return "length";
    case FinishReason::Abort:
      return "abort";
  }
  return "";
}

}  // namespace cascade

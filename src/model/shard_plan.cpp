#include "model/shard_plan.h"

#include <string>

#include "base/error.h"

namespace cascade {
namespace {

void require_divides(int world_size, int count, const char* field) {
  check(count % world_size == 0, "tensor_parallel_size " + std::to_string(world_size) +
                                     " must divide the model's " + field + " (" +
                                     std::to_string(count) + ")");
}

}  // namespace

void check_tensor_parallel_size(const ModelConfig& config, int world_size) {
  check(world_size > 0,
        "tensor_parallel_size must be > 0 (got " + std::to_string(world_size) + ")");
  require_divides(world_size, config.num_attention_heads, "num_attention_heads");
  const int kv = config.num_key_value_heads;
  check(kv > 0 && (kv % world_size == 0 || world_size % kv == 0),
        "tensor_parallel_size " + std::to_string(world_size) +
            " must divide the model's num_key_value_heads (" + std::to_string(kv) +
            ") or be a multiple of it");
  require_divides(world_size, config.intermediate_size, "intermediate_size");
  require_divides(world_size, config.vocab_size, "vocab_size");
}

ShardPlan make_shard_plan(const ModelConfig& config, int rank, int world_size) {
  check_tensor_parallel_size(config, world_size);
  check(0 <= rank && rank < world_size, "shard plan: rank " + std::to_string(rank) +
                                            " outside tensor_parallel_size " +
                                            std::to_string(world_size));
  ShardPlan s;
  s.rank = rank;
  s.world_size = world_size;
  s.num_q_heads = config.num_attention_heads / world_size;
  s.q_head_begin = rank * s.num_q_heads;
  const int kv = config.num_key_value_heads;
  if (kv % world_size == 0) {
    s.num_kv_heads = kv / world_size;
    s.kv_head_begin = rank * s.num_kv_heads;
  } else {
    // world_size / kv ranks share each KV head; the rank's query heads all read this one.
    s.num_kv_heads = 1;
    s.kv_head_begin = rank / (world_size / kv);
  }
  s.inter_size = config.intermediate_size / world_size;
  s.inter_begin = rank * s.inter_size;
  s.vocab_size = config.vocab_size / world_size;
  s.vocab_begin = rank * s.vocab_size;
  return s;
}

}  // namespace cascade

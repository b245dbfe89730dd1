// Which part of a model one tensor-parallel rank holds (Megatron-style): a contiguous run
// of attention heads with the KV heads they read (q|k|v and gate|up split by output rows,
// o_proj and down_proj by input columns), a run of MLP columns, and a run of vocabulary
// rows of the embedding and lm_head. Norms are replicated.
//
// When the world size is a multiple of num_key_value_heads, several ranks share (hold
// copies of) one KV head: each rank keeps exactly the one its query heads read.
#pragma once

#include "model/model_config.h"

namespace cascade {

struct ShardPlan {
  int rank = 0;
  int world_size = 1;
  int q_head_begin = 0, num_q_heads = 0;    // query heads [begin, begin + num)
  int kv_head_begin = 0, num_kv_heads = 0;  // KV heads, as stored in this rank's cache
  int inter_begin = 0, inter_size = 0;      // MLP columns (rows of gate_proj and up_proj)
  int vocab_begin = 0, vocab_size = 0;      // rows of embed_tokens and lm_head

  bool sharded() const { return world_size > 1; }
};

// Error naming tensor_parallel_size when `world_size` cannot split `config`: it must
// divide num_attention_heads, intermediate_size and vocab_size, and divide or be a
// multiple of num_key_value_heads.
void check_tensor_parallel_size(const ModelConfig& config, int world_size);

// The part rank `rank` of `world_size` holds (checks world_size as above).
ShardPlan make_shard_plan(const ModelConfig& config, int rank, int world_size);

}  // namespace cascade

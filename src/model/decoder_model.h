// The Qwen3 / Qwen2 decoder forward, written once against the Backend ops. The two
// architectures differ only in which weights exist (q/k/v bias for Qwen2, per-head q/k
// norm for Qwen3), so there is one forward and no architecture switch.
#pragma once

#include <cstdint>
#include <vector>

#include "base/tensor.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "ops/attention_plan.h"
#include "ops/backend.h"

namespace cascade {

// One step: rows are the tokens of all sequences in the step.
struct ForwardBatch {
  std::vector<int32_t> token_ids;    // [rows]
  std::vector<int32_t> positions;    // [rows] logical positions
  std::vector<int32_t> slots;        // [rows] KV slot (page · page_size + offset) to write
  AttentionPlan plan;                // finalized
  std::vector<int32_t> logits_rows;  // rows whose logits are returned, in this order
};

class DecoderModel {
 public:
  DecoderModel(ModelConfig config, ModelWeights weights, Backend& backend);

  // One KvLayer per decoder layer, each [num_pages, page_size, kv_heads, head_dim].
  std::vector<KvLayer> allocate_kv_cache(int num_pages, int page_size);

  // Writes the step's K/V into `kv` and returns the logits of batch.logits_rows:
  // [logits_rows, vocab] f32 on the backend (a fresh tensor, valid after the next call).
  Tensor forward(const ForwardBatch& batch, std::vector<KvLayer>& kv);

  const ModelConfig& config() const { return config_; }
  Backend& backend() const { return backend_; }

 private:
  // Activations of one step, reused across layers and, while rows fit, across steps.
  struct Workspace {
    int64_t capacity = 0;  // rows
    Tensor hidden, normed, qkv, q, attn, proj, gate_up, act;
  };

  void validate(const ForwardBatch& batch, const std::vector<KvLayer>& kv) const;
  void reserve(int64_t rows);

  ModelConfig config_;
  ModelWeights weights_;
  Backend& backend_;
  RopeParams rope_;
  Workspace ws_;
};

}  // namespace cascade

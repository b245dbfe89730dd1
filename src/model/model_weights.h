// A decoder's weights on a backend, named after what they do. Projections that run
// together are fused at load (q|k|v rows, gate|up rows) so each is one matrix product.
#pragma once

#include <vector>

#include "base/tensor.h"
#include "model/model_config.h"
#include "model/safetensors.h"
#include "model/shard_plan.h"
#include "ops/backend.h"

namespace cascade {

struct LayerWeights {
  Tensor input_norm;  // [hidden]
  Tensor qkv;         // [q_dim + 2·kv_dim, hidden]: rows of q_proj, then k_proj, then v_proj
  Tensor qkv_bias;    // [q_dim + 2·kv_dim], undefined without attention_bias
  Tensor q_norm;      // [head_dim], undefined without qk_norm
  Tensor k_norm;      // [head_dim], undefined without qk_norm
  Tensor o_proj;      // [hidden, q_dim]
  Tensor post_norm;   // [hidden] (post_attention_layernorm)
  Tensor gate_up;     // [2·intermediate, hidden]: rows of gate_proj, then up_proj
  Tensor down;        // [hidden, intermediate]
};

// Shapes are those of the whole model; a tensor-parallel rank's weights (ShardPlan) hold
// its heads (q_dim, kv_dim and o_proj's columns over its heads), its MLP columns
// (intermediate) and its vocabulary rows, and embed then ends with one row of zeros that
// the ids of other ranks' rows are mapped to.
struct ModelWeights {
  Tensor embed;       // [vocab, hidden] ([vocab + 1, hidden] on a rank of several)
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [hidden]
  Tensor lm_head;     // [vocab, hidden]; shares embed's storage when tie_word_embeddings
};

// Reads every tensor the config calls for from the checkpoint, checks its shape against
// the config (Error names the tensor, the file and both shapes), converts it to the
// backend's compute dtype and uploads it. A missing tensor is an Error naming it.
ModelWeights load_model_weights(const ModelConfig& config, const SafetensorsModel& checkpoint,
                                Backend& backend);
// Only the part `shard` names (shapes checked against the whole model first).
ModelWeights load_model_weights(const ModelConfig& config, const SafetensorsModel& checkpoint,
                                Backend& backend, const ShardPlan& shard);

}  // namespace cascade

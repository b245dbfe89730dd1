// The tensors a Hugging Face checkpoint of a config holds: their names, the shapes the
// config implies, and where each lands in ModelWeights. The one place that knows HF names;
// the loader, the fixtures and the random-checkpoint generator all read this list.
#pragma once

#include <string>
#include <vector>

#include "base/tensor.h"
#include "model/model_config.h"

namespace cascade {

// Destinations in ModelWeights / LayerWeights. Several tensors with the same destination
// are fused: their rows are concatenated in layout order (q, k, v; gate, up).
enum class WeightField {
  Embed,
  FinalNorm,
  LmHead,
  InputNorm,
  Qkv,
  QkvBias,
  QNorm,
  KNorm,
  OProj,
  PostNorm,
  GateUp,
  Down,
};

struct TensorSlot {
  std::string name;   // e.g. "model.layers.0.self_attn.q_proj.weight"
  Shape shape;        // as the config implies it
  WeightField field;  // destination
  int layer = -1;     // decoder layer, or -1 for model-level tensors
};

// Every tensor of the checkpoint, model-level first, then layer by layer. lm_head.weight is
// absent when tie_word_embeddings; biases and q/k norms follow the config's flags.
std::vector<TensorSlot> checkpoint_layout(const ModelConfig& config);

}  // namespace cascade

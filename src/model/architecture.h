// What differs between the supported architectures, in one table (architecture.cpp).
// Everything downstream reads the resulting ModelConfig flags, never the architecture.
#pragma once

#include <string>
#include <string_view>

#include "model/model_config.h"

namespace cascade {

struct ArchitectureSpec {
  Architecture id;
  std::string_view hf_name;     // config.json "architectures"[0]
  std::string_view model_type;  // config.json "model_type"
  bool qk_norm;                 // q_norm / k_norm weights: per-head RMSNorm before RoPE
  bool qkv_bias;                // q/k/v projections always carry a bias (o_proj never)
  // config.json's attention_bias adds biases to q/k/v *and* o_proj (Qwen3). The weights
  // hold no o_proj bias, so attention_bias = true is refused for these architectures.
  bool reads_attention_bias;
};

// Null when `hf_name` is not supported.
const ArchitectureSpec* find_architecture(std::string_view hf_name);
const ArchitectureSpec& architecture_spec(Architecture id);
// "Qwen3ForCausalLM, Qwen2ForCausalLM", for error messages.
std::string supported_architectures();

}  // namespace cascade

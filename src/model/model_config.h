// The fields of a Hugging Face config.json that the engine uses, validated.
#pragma once

#include <string>
#include <vector>

#include "base/dtype.h"

namespace cascade {

enum class Architecture { Qwen3, Qwen2 };

struct ModelConfig {
  Architecture architecture = Architecture::Qwen3;
  std::string architecture_name;  // as in config.json, e.g. "Qwen3ForCausalLM"
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;  // config's head_dim, else hidden_size / num_attention_heads
  int max_position_embeddings = 0;
  double rope_theta = 10000.0;
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry a bias (Qwen2)
  bool qk_norm = false;         // per-head RMSNorm of q and k before RoPE (Qwen3)
  DType torch_dtype = DType::BF16;
  std::vector<int> eos_token_ids;  // from config.json, then generation_config.json
  int bos_token_id = -1;

  int q_dim() const { return num_attention_heads * head_dim; }
  int kv_dim() const { return num_key_value_heads * head_dim; }
};

// Parses `<model_dir>/config.json` (and generation_config.json when present).
// Throws Error naming the file and field on anything missing, malformed or unsupported.
ModelConfig load_model_config(const std::string& model_dir);

// Same, from config.json text; `source` names the file in error messages.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);

// A Hugging Face style config.json for `config` (what parse_model_config reads back); used
// to write checkpoints the project generates (test fixtures, benchmark models).
std::string model_config_json(const ModelConfig& config);

// "bfloat16" / "float16" / "float32", as config.json spells dtypes.
std::string torch_dtype_name(DType dtype);

}  // namespace cascade

// Random-weight checkpoints in the exact geometry of real models, for benchmarks: speed
// depends on shapes, not on trained values. Written as a Hugging Face folder
// (config.json, model.safetensors in bf16, and a copied tokenizer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace cascade {

// "qwen3-0.6b" (Qwen3-0.6B) or "qwen2.5-0.5b" (Qwen2.5-0.5B); Error for other names.
ModelConfig geometry_preset(const std::string& name);
std::vector<std::string> geometry_preset_names();

// Writes config.json and model.safetensors (weights ~ uniform with variance 1/fan_in,
// norms near 1, bf16) for `config` into `out_dir`, and copies tokenizer.json and
// tokenizer_config.json from `tokenizer_dir` when it is not empty.
void write_random_checkpoint(const ModelConfig& config, const std::string& out_dir,
                             const std::string& tokenizer_dir, uint64_t seed);

}  // namespace cascade

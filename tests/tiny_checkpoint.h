// Tiny Qwen3 / Qwen2 model folders written by the tests themselves: config.json plus
// deterministic pseudo-random weights, in one file or in shards with an index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "model/checkpoint_layout.h"
#include "model/model_config.h"
#include "model/safetensors_writer.h"

namespace cascade::test {

// q_dim (64) differs from hidden (32) so that a swapped dimension is caught.
inline ModelConfig tiny_qwen3_config() {
  ModelConfig c;
  c.architecture = Architecture::Qwen3;
  c.architecture_name = "Qwen3ForCausalLM";
  c.vocab_size = 48;
  c.hidden_size = 32;
  c.intermediate_size = 40;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6f;
  c.tie_word_embeddings = true;
  c.qk_norm = true;
  c.attention_bias = false;
  c.torch_dtype = DType::BF16;
  c.eos_token_ids = {7};
  c.bos_token_id = 5;
  return c;
}

inline ModelConfig tiny_qwen2_config() {
  ModelConfig c;
  c.architecture = Architecture::Qwen2;
  c.architecture_name = "Qwen2ForCausalLM";
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 24;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-5f;
  c.tie_word_embeddings = false;
  c.qk_norm = false;
  c.attention_bias = true;
  c.torch_dtype = DType::F32;
  c.eos_token_ids = {3, 4};
  return c;
}

// Distinct values per tensor and element (an integer hash mapped to [-1, 1)), so a row
// taken from the wrong tensor or offset never matches by accident.
inline std::vector<float> fixture_values(const std::string& name, size_t count) {
  uint32_t h = 2166136261u;
  for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 16777619u;
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) {
    uint32_t x = h + static_cast<uint32_t>(i) * 0x9e3779b9u;
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    v[i] = static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
  }
  return v;
}

// f32 value as stored in `dtype` and read back.
inline float stored_value(float v, DType dtype) {
  if (dtype == DType::BF16) return bf16_to_f32(f32_to_bf16(v));
  if (dtype == DType::F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The tensors of `config`'s checkpoint; tensor i gets dtypes[i % dtypes.size()].
inline std::vector<TensorToWrite> fixture_tensors(const ModelConfig& config,
                                                  const std::vector<DType>& dtypes) {
  std::vector<TensorToWrite> tensors;
  const std::vector<TensorSlot> layout = checkpoint_layout(config);
  for (size_t i = 0; i < layout.size(); ++i) {
    const TensorSlot& s = layout[i];
    tensors.push_back(
        tensor_from_f32(s.name, dtypes[i % dtypes.size()], s.shape,
                        fixture_values(s.name, static_cast<size_t>(shape_numel(s.shape)))));
  }
  return tensors;
}

// The f32 values each tensor holds once written (after rounding to its dtype).
inline std::map<std::string, std::vector<float>> expected_values(
    const std::vector<TensorToWrite>& tensors) {
  std::map<std::string, std::vector<float>> out;
  for (const TensorToWrite& t : tensors) {
    std::vector<float> v = fixture_values(t.name, static_cast<size_t>(shape_numel(t.shape)));
    for (float& x : v) x = stored_value(x, t.dtype);
    out[t.name] = v;
  }
  return out;
}

// Writes config.json and `tensors`: as model.safetensors when shards == 1, else round-robin
// into model-0000k-of-0000n.safetensors with model.safetensors.index.json.
inline void write_model_folder(const std::string& dir, const ModelConfig& config,
                               const std::vector<TensorToWrite>& tensors, int shards = 1) {
  std::filesystem::create_directories(dir);
  write_text(dir + "/config.json", model_config_json(config));
  if (shards == 1) {
    write_safetensors(dir + "/model.safetensors", tensors);
    return;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (int k = 0; k < shards; ++k) {
    const std::string file =
        "model-0000" + std::to_string(k + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
    std::vector<TensorToWrite> part;
    for (size_t i = static_cast<size_t>(k); i < tensors.size(); i += static_cast<size_t>(shards)) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].name] = file;
    }
    write_safetensors(dir + "/" + file, part);
  }
  write_text(dir + "/model.safetensors.index.json",
             nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2));
}

}  // namespace cascade::test

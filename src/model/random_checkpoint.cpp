#include "model/random_checkpoint.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "model/checkpoint_layout.h"
#include "model/safetensors_writer.h"

namespace cascade {
namespace {

ModelConfig qwen3_0_6b() {
  ModelConfig c;
  c.architecture = Architecture::Qwen3;
  c.architecture_name = "Qwen3ForCausalLM";
  c.vocab_size = 151936;
  c.hidden_size = 1024;
  c.intermediate_size = 3072;
  c.num_hidden_layers = 28;
  c.num_attention_heads = 16;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.max_position_embeddings = 40960;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6f;
  c.tie_word_embeddings = true;
  c.qk_norm = true;
  c.eos_token_ids = {151645, 151643};
  return c;
}

ModelConfig qwen25_0_5b() {
  ModelConfig c;
  c.architecture = Architecture::Qwen2;
  c.architecture_name = "Qwen2ForCausalLM";
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.max_position_embeddings = 32768;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6f;
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  c.eos_token_ids = {151645, 151643};
  return c;
}

// SplitMix64: fast, seedable, good enough for benchmark weights.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f; }
};

// Uniform[-a, a] around `center`: a = sqrt(3 / fan_in) gives variance 1 / fan_in for
// projections; norms sit near 1 and biases near 0.
struct ValueRange {
  float scale;
  float center;
};

ValueRange value_range(const TensorSlot& slot) {
  switch (slot.field) {
    case WeightField::InputNorm:
    case WeightField::PostNorm:
    case WeightField::QNorm:
    case WeightField::KNorm:
    case WeightField::FinalNorm:
      return {0.1f, 1.0f};
    case WeightField::QkvBias:
      return {0.1f, 0.0f};
    case WeightField::Embed:
      return {1.0f, 0.0f};
    default:
      return {std::sqrt(3.0f / static_cast<float>(slot.shape.at(1))), 0.0f};
  }
}

}  // namespace

ModelConfig geometry_preset(const std::string& name) {
  if (name == "qwen3-0.6b") return qwen3_0_6b();
  if (name == "qwen2.5-0.5b") return qwen25_0_5b();
  throw Error("unknown geometry '" + name + "' (known: qwen3-0.6b, qwen2.5-0.5b)");
}

std::vector<std::string> geometry_preset_names() {
  return {"qwen3-0.6b", "qwen2.5-0.5b"};
}

void write_random_checkpoint(const ModelConfig& config, const std::string& out_dir,
                             const std::string& tokenizer_dir, uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  {
    std::ofstream f(out_dir + "/config.json");
    check(static_cast<bool>(f), out_dir + "/config.json: cannot write");
    f << model_config_json(config) << "\n";
  }
  const auto layout = checkpoint_layout(config);
  std::vector<TensorHeader> headers;
  for (const auto& slot : layout) headers.push_back({slot.name, DType::BF16, slot.shape});
  write_safetensors(out_dir + "/model.safetensors", headers,
                    [&](size_t index, std::vector<uint8_t>& bytes) {
                      const auto range = value_range(layout[index]);
                      const auto n = static_cast<size_t>(shape_numel(layout[index].shape));
                      bytes.resize(n * 2);
                      Random rng{seed * 0x100000001b3ull + index};
                      for (size_t i = 0; i < n; ++i) {
                        const uint16_t v = f32_to_bf16(range.center + range.scale * rng.uniform());
                        std::memcpy(bytes.data() + 2 * i, &v, 2);
                      }
                    });
  if (!tokenizer_dir.empty()) {
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
      const fs::path from = fs::path(tokenizer_dir) / name;
      check(fs::exists(from), from.string() + ": not found (tokenizer to copy)");
      fs::copy_file(from, fs::path(out_dir) / name, fs::copy_options::overwrite_existing);
    }
  }
}

}  // namespace cascade

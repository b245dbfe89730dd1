#include "model/random_checkpoint.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
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

nlohmann::json config_json(const ModelConfig& c) {
  nlohmann::json j = {
      {"architectures", {c.architecture_name}},
      {"model_type", c.architecture == Architecture::Qwen3 ? "qwen3" : "qwen2"},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rope_theta", c.rope_theta},
      {"rms_norm_eps", c.rms_norm_eps},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"hidden_act", "silu"},
      {"torch_dtype", "bfloat16"},
      {"eos_token_id", c.eos_token_ids},
  };
  if (c.architecture == Architecture::Qwen3) j["attention_bias"] = false;
  return j;
}

struct PlannedTensor {
  TensorHeader header;
  float scale;  // values uniform in [-scale, scale] around `center`
  float center;
};

std::vector<PlannedTensor> plan_tensors(const ModelConfig& c) {
  const int64_t h = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), d = c.head_dim,
                inter = c.intermediate_size, vocab = c.vocab_size;
  std::vector<PlannedTensor> t;
  const auto add = [&t](std::string name, Shape shape, float scale, float center = 0.0f) {
    t.push_back({TensorHeader{std::move(name), DType::BF16, std::move(shape)}, scale, center});
  };
  // Uniform[-a, a] has variance a²/3: a = sqrt(3 / fan_in) gives variance 1 / fan_in.
  const auto a = [](int64_t fan_in) { return std::sqrt(3.0f / static_cast<float>(fan_in)); };
  add("model.embed_tokens.weight", {vocab, h}, 1.0f);
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {h}, 0.1f, 1.0f);
    add(p + "self_attn.q_proj.weight", {q, h}, a(h));
    add(p + "self_attn.k_proj.weight", {kv, h}, a(h));
    add(p + "self_attn.v_proj.weight", {kv, h}, a(h));
    if (c.architecture == Architecture::Qwen2) {
      add(p + "self_attn.q_proj.bias", {q}, 0.1f);
      add(p + "self_attn.k_proj.bias", {kv}, 0.1f);
      add(p + "self_attn.v_proj.bias", {kv}, 0.1f);
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", {d}, 0.1f, 1.0f);
      add(p + "self_attn.k_norm.weight", {d}, 0.1f, 1.0f);
    }
    add(p + "self_attn.o_proj.weight", {h, q}, a(q));
    add(p + "post_attention_layernorm.weight", {h}, 0.1f, 1.0f);
    add(p + "mlp.gate_proj.weight", {inter, h}, a(h));
    add(p + "mlp.up_proj.weight", {inter, h}, a(h));
    add(p + "mlp.down_proj.weight", {h, inter}, a(inter));
  }
  add("model.norm.weight", {h}, 0.1f, 1.0f);
  if (!c.tie_word_embeddings) add("lm_head.weight", {vocab, h}, a(h));
  return t;
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
    f << config_json(config).dump(2) << "\n";
  }
  const auto planned = plan_tensors(config);
  std::vector<TensorHeader> headers;
  for (const auto& p : planned) headers.push_back(p.header);
  write_safetensors(out_dir + "/model.safetensors", headers,
                    [&](size_t index, std::vector<uint8_t>& bytes) {
                      const auto& p = planned[index];
                      const auto n = static_cast<size_t>(shape_numel(p.header.shape));
                      bytes.resize(n * 2);
                      Random rng{seed * 0x100000001b3ull + index};
                      for (size_t i = 0; i < n; ++i) {
                        const uint16_t v = f32_to_bf16(p.center + p.scale * rng.uniform());
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

#include "model/model_weights.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "expect_error.h"
#include "model/checkpoint_layout.h"
#include "test_paths.h"
#include "tiny_checkpoint.h"

namespace cascade {
namespace {

using test::expect_error;

std::vector<float> download(Backend& backend, const Tensor& t) {
  std::vector<float> host(static_cast<size_t>(t.numel()));
  backend.download_f32(t, host.data());
  return host;
}

// `expected` concatenated from named tensors, in order.
std::vector<float> concat(const std::map<std::string, std::vector<float>>& values,
                          const std::vector<std::string>& names) {
  std::vector<float> out;
  for (const std::string& n : names) {
    const std::vector<float>& v = values.at(n);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::string layer(int i, const std::string& suffix) {
  return "model.layers." + std::to_string(i) + "." + suffix;
}

// Every weight of `w` equals the values written, fused in the documented row order.
void expect_weights_match(const ModelConfig& c, const ModelWeights& w, Backend& backend,
                          const std::map<std::string, std::vector<float>>& values) {
  const int64_t hidden = c.hidden_size, q = c.q_dim(), kv = c.kv_dim();
  EXPECT_EQ(w.embed.shape, (Shape{c.vocab_size, hidden}));
  EXPECT_EQ(download(backend, w.embed), values.at("model.embed_tokens.weight"));
  EXPECT_EQ(download(backend, w.final_norm), values.at("model.norm.weight"));
  if (c.tie_word_embeddings) {
    EXPECT_EQ(w.lm_head.data, w.embed.data);  // same storage, not a copy
    EXPECT_EQ(w.lm_head.shape, w.embed.shape);
  } else {
    EXPECT_NE(w.lm_head.data, w.embed.data);
    EXPECT_EQ(download(backend, w.lm_head), values.at("lm_head.weight"));
  }
  ASSERT_EQ(w.layers.size(), static_cast<size_t>(c.num_hidden_layers));
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const LayerWeights& l = w.layers[static_cast<size_t>(i)];
    EXPECT_EQ(l.qkv.shape, (Shape{q + 2 * kv, hidden}));
    const std::vector<float> qkv = download(backend, l.qkv);
    // q rows first, then k, then v.
    const auto q_rows = values.at(layer(i, "self_attn.q_proj.weight"));
    const auto k_rows = values.at(layer(i, "self_attn.k_proj.weight"));
    EXPECT_TRUE(std::equal(q_rows.begin(), q_rows.end(), qkv.begin()));
    EXPECT_TRUE(std::equal(k_rows.begin(), k_rows.end(), qkv.begin() + q * hidden));
    EXPECT_EQ(qkv, concat(values,
                          {layer(i, "self_attn.q_proj.weight"), layer(i, "self_attn.k_proj.weight"),
                           layer(i, "self_attn.v_proj.weight")}));
    if (c.attention_bias) {
      EXPECT_EQ(l.qkv_bias.shape, (Shape{q + 2 * kv}));
      EXPECT_EQ(download(backend, l.qkv_bias), concat(values, {layer(i, "self_attn.q_proj.bias"),
                                                               layer(i, "self_attn.k_proj.bias"),
                                                               layer(i, "self_attn.v_proj.bias")}));
    } else {
      EXPECT_FALSE(l.qkv_bias.defined());
    }
    if (c.qk_norm) {
      EXPECT_EQ(l.q_norm.shape, (Shape{c.head_dim}));
      EXPECT_EQ(download(backend, l.q_norm), values.at(layer(i, "self_attn.q_norm.weight")));
      EXPECT_EQ(download(backend, l.k_norm), values.at(layer(i, "self_attn.k_norm.weight")));
    } else {
      EXPECT_FALSE(l.q_norm.defined());
      EXPECT_FALSE(l.k_norm.defined());
    }
    EXPECT_EQ(l.o_proj.shape, (Shape{hidden, q}));
    EXPECT_EQ(download(backend, l.o_proj), values.at(layer(i, "self_attn.o_proj.weight")));
    EXPECT_EQ(download(backend, l.input_norm), values.at(layer(i, "input_layernorm.weight")));
    EXPECT_EQ(download(backend, l.post_norm),
              values.at(layer(i, "post_attention_layernorm.weight")));
    EXPECT_EQ(l.gate_up.shape, (Shape{2 * c.intermediate_size, hidden}));
    EXPECT_EQ(download(backend, l.gate_up),
              concat(values, {layer(i, "mlp.gate_proj.weight"), layer(i, "mlp.up_proj.weight")}));
    EXPECT_EQ(l.down.shape, (Shape{hidden, c.intermediate_size}));
    EXPECT_EQ(download(backend, l.down), values.at(layer(i, "mlp.down_proj.weight")));
  }
}

TEST(CheckpointLayout, NamesAreHuggingFaceNames) {
  std::vector<std::string> qwen3;
  for (const TensorSlot& s : checkpoint_layout(test::tiny_qwen3_config())) {
    if (s.layer <= 0) qwen3.push_back(s.name + " " + shape_string(s.shape));
  }
  EXPECT_EQ(qwen3, (std::vector<std::string>{
                       "model.embed_tokens.weight [48, 32]",
                       "model.norm.weight [32]",
                       "model.layers.0.input_layernorm.weight [32]",
                       "model.layers.0.self_attn.q_proj.weight [64, 32]",
                       "model.layers.0.self_attn.k_proj.weight [32, 32]",
                       "model.layers.0.self_attn.v_proj.weight [32, 32]",
                       "model.layers.0.self_attn.q_norm.weight [16]",
                       "model.layers.0.self_attn.k_norm.weight [16]",
                       "model.layers.0.self_attn.o_proj.weight [32, 64]",
                       "model.layers.0.post_attention_layernorm.weight [32]",
                       "model.layers.0.mlp.gate_proj.weight [40, 32]",
                       "model.layers.0.mlp.up_proj.weight [40, 32]",
                       "model.layers.0.mlp.down_proj.weight [32, 40]",
                   }));
  std::vector<std::string> qwen2;
  for (const TensorSlot& s : checkpoint_layout(test::tiny_qwen2_config())) {
    if (s.layer <= 0) qwen2.push_back(s.name + " " + shape_string(s.shape));
  }
  EXPECT_EQ(qwen2, (std::vector<std::string>{
                       "model.embed_tokens.weight [40, 32]",
                       "model.norm.weight [32]",
                       "lm_head.weight [40, 32]",
                       "model.layers.0.input_layernorm.weight [32]",
                       "model.layers.0.self_attn.q_proj.weight [32, 32]",
                       "model.layers.0.self_attn.k_proj.weight [8, 32]",
                       "model.layers.0.self_attn.v_proj.weight [8, 32]",
                       "model.layers.0.self_attn.q_proj.bias [32]",
                       "model.layers.0.self_attn.k_proj.bias [8]",
                       "model.layers.0.self_attn.v_proj.bias [8]",
                       "model.layers.0.self_attn.o_proj.weight [32, 32]",
                       "model.layers.0.post_attention_layernorm.weight [32]",
                       "model.layers.0.mlp.gate_proj.weight [24, 32]",
                       "model.layers.0.mlp.up_proj.weight [24, 32]",
                       "model.layers.0.mlp.down_proj.weight [32, 24]",
                   }));
  EXPECT_EQ(checkpoint_layout(test::tiny_qwen2_config()).size(), 3u + 3 * 12);
}

class LoadTinyQwen3 : public ::testing::TestWithParam<std::vector<DType>> {};

TEST_P(LoadTinyQwen3, ValuesAndFusedLayoutMatchWhatWasWritten) {
  const std::string dir = test::temp_dir("qwen3");
  const std::vector<TensorToWrite> tensors =
      test::fixture_tensors(test::tiny_qwen3_config(), GetParam());
  test::write_model_folder(dir, test::tiny_qwen3_config(), tensors);
  const ModelConfig config = load_model_config(dir);
  const SafetensorsModel checkpoint = SafetensorsModel::open(dir);
  auto backend = make_cpu_backend(1);
  const ModelWeights w = load_model_weights(config, checkpoint, *backend);
  expect_weights_match(config, w, *backend, test::expected_values(tensors));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LoadTinyQwen3,
                         ::testing::Values(std::vector<DType>{DType::F32},
                                           std::vector<DType>{DType::BF16},
                                           std::vector<DType>{DType::F16},
                                           // mixed, so fused parts convert from different dtypes
                                           std::vector<DType>{DType::F32, DType::BF16, DType::F16}),
                         [](const ::testing::TestParamInfo<std::vector<DType>>& p) {
                           std::string name;
                           for (DType dtype : p.param) name += std::string(dtype_name(dtype));
                           return name;
                         });

TEST(LoadModelWeights, ShardedQwen2WithBiasesAndSeparateLmHead) {
  const std::string dir = test::temp_dir("qwen2");
  const ModelConfig written = test::tiny_qwen2_config();
  const std::vector<TensorToWrite> tensors =
      test::fixture_tensors(written, {DType::F32, DType::BF16});
  test::write_model_folder(dir, written, tensors, /*shards=*/3);
  const ModelConfig config = load_model_config(dir);
  const SafetensorsModel checkpoint = SafetensorsModel::open(dir);
  EXPECT_EQ(checkpoint.files().size(), 3u);
  auto backend = make_cpu_backend(1);
  const ModelWeights w = load_model_weights(config, checkpoint, *backend);
  expect_weights_match(config, w, *backend, test::expected_values(tensors));
}

// A file whose data starts at an odd address (no header padding): still read correctly.
TEST(LoadModelWeights, MisalignedDataIsReadCorrectly) {
  const std::string dir = test::temp_dir("qwen3");
  const ModelConfig config = test::tiny_qwen3_config();
  std::vector<TensorToWrite> tensors = test::fixture_tensors(config, {DType::BF16, DType::F32});
  nlohmann::ordered_json header;
  std::string data;
  for (const TensorToWrite& t : tensors) {
    header[t.name] = {{"dtype", std::string(safetensors_dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.append(t.bytes.begin(), t.bytes.end());
  }
  std::string text = header.dump();
  if (text.size() % 2 == 0) text += " ";
  test::write_model_folder(dir, config, {});
  test::write_text(dir + "/model.safetensors", raw_safetensors(text, data));
  auto backend = make_cpu_backend(1);
  const ModelWeights w =
      load_model_weights(load_model_config(dir), SafetensorsModel::open(dir), *backend);
  expect_weights_match(config, w, *backend, test::expected_values(tensors));
}

// --- errors ---

// A tiny Qwen3 folder whose tensors went through `edit` before writing.
std::string write_edited(const std::function<void(std::vector<TensorToWrite>&)>& edit) {
  const std::string dir = test::temp_dir("qwen3");
  std::vector<TensorToWrite> tensors =
      test::fixture_tensors(test::tiny_qwen3_config(), {DType::F32});
  edit(tensors);
  test::write_model_folder(dir, test::tiny_qwen3_config(), tensors);
  return dir;
}

void load(const std::string& dir) {
  auto backend = make_cpu_backend(1);
  load_model_weights(load_model_config(dir), SafetensorsModel::open(dir), *backend);
}

TensorToWrite& find(std::vector<TensorToWrite>& tensors, const std::string& name) {
  for (TensorToWrite& t : tensors) {
    if (t.name == name) return t;
  }
  throw Error("test fixture has no tensor " + name);
}

TEST(LoadModelWeightsErrors, ShapeDisagreesWithConfig) {
  const std::string dir = write_edited([](std::vector<TensorToWrite>& tensors) {
    TensorToWrite& q = find(tensors, "model.layers.0.self_attn.q_proj.weight");
    q.shape = {32, 64};  // transposed: same bytes, wrong shape
  });
  expect_error([&] { load(dir); },
               {"model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' has shape "
                "[32, 64], config.json implies [64, 32]"});
}

TEST(LoadModelWeightsErrors, MissingTensor) {
  const std::string dir = write_edited([](std::vector<TensorToWrite>& tensors) {
    std::erase_if(tensors, [](const TensorToWrite& t) {
      return t.name == "model.layers.1.self_attn.k_norm.weight";
    });
  });
  expect_error([&] { load(dir); },
               {dir + ": missing tensor 'model.layers.1.self_attn.k_norm.weight'"});
}

TEST(LoadModelWeightsErrors, UntiedConfigNeedsLmHead) {
  const std::string dir = write_edited([](std::vector<TensorToWrite>&) {});
  ModelConfig config = load_model_config(dir);
  config.tie_word_embeddings = false;
  auto backend = make_cpu_backend(1);
  expect_error([&] { load_model_weights(config, SafetensorsModel::open(dir), *backend); },
               {dir + ": missing tensor 'lm_head.weight'"});
}

TEST(LoadModelWeightsErrors, TensorTheConfigDoesNotKnow) {
  const std::string dir = write_edited([](std::vector<TensorToWrite>& tensors) {
    tensors.push_back(tensor_from_f32("model.layers.2.input_layernorm.weight", DType::F32, {32},
                                      std::vector<float>(32, 1.0f)));
  });
  expect_error([&] { load(dir); },
               {"model.safetensors: tensor 'model.layers.2.input_layernorm.weight' is not part "
                "of a Qwen3ForCausalLM with this config.json (2 layers)"});
}

TEST(LoadModelWeightsErrors, IntegerWeights) {
  const std::string dir = write_edited([](std::vector<TensorToWrite>& tensors) {
    TensorToWrite& norm = find(tensors, "model.norm.weight");
    norm.dtype = DType::I32;  // 4 bytes per element, like the f32 data it replaces
  });
  expect_error([&] { load(dir); }, {"model.safetensors: tensor 'model.norm.weight' has dtype i32"});
}

// --- the checkpoints made by Hugging Face transformers (tools/make_fixtures.py) ---

TEST(GoldenCheckpoints, Qwen3TinyBf16Tied) {
  const std::string dir = test::fixture("models/qwen3-tiny");
  const ModelConfig c = load_model_config(dir);
  EXPECT_EQ(c.architecture, Architecture::Qwen3);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.rope_theta, 1000000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.torch_dtype, DType::BF16);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{2, 0}));  // config's 2, then generation_config's 0

  const SafetensorsModel checkpoint = SafetensorsModel::open(dir);
  EXPECT_FALSE(checkpoint.contains("lm_head.weight"));
  auto backend = make_cpu_backend(1);
  const ModelWeights w = load_model_weights(c, checkpoint, *backend);
  std::map<std::string, std::vector<float>> values;
  for (const std::string& name : checkpoint.names()) {
    const TensorRecord& r = checkpoint.get(name);
    EXPECT_EQ(r.dtype, DType::BF16) << name;
    std::vector<float>& v = values[name];
    v.resize(static_cast<size_t>(shape_numel(r.shape)));
    convert_to_f32(r.data, r.dtype, v.size(), v.data());
  }
  expect_weights_match(c, w, *backend, values);
}

TEST(GoldenCheckpoints, Qwen2TinyF32UntiedSharded) {
  const std::string dir = test::fixture("models/qwen2-tiny");
  const ModelConfig c = load_model_config(dir);
  EXPECT_EQ(c.architecture, Architecture::Qwen2);
  EXPECT_EQ(c.intermediate_size, 160);
  EXPECT_EQ(c.head_dim, 16);  // 64 / 4, no head_dim in config.json
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_EQ(c.torch_dtype, DType::F32);

  const SafetensorsModel checkpoint = SafetensorsModel::open(dir);
  EXPECT_GE(checkpoint.files().size(), 2u);
  auto backend = make_cpu_backend(1);
  const ModelWeights w = load_model_weights(c, checkpoint, *backend);
  std::map<std::string, std::vector<float>> values;
  for (const std::string& name : checkpoint.names()) {
    const TensorRecord& r = checkpoint.get(name);
    EXPECT_EQ(r.dtype, DType::F32) << name;
    std::vector<float>& v = values[name];
    v.resize(static_cast<size_t>(shape_numel(r.shape)));
    convert_to_f32(r.data, r.dtype, v.size(), v.data());
  }
  expect_weights_match(c, w, *backend, values);
}

}  // namespace
}  // namespace cascade

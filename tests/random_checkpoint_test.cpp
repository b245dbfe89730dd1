#include "model/random_checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "test_paths.h"

namespace cascade {
namespace {

ModelConfig small_qwen2() {
  ModelConfig c = geometry_preset("qwen2.5-0.5b");
  c.vocab_size = 96;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  return c;
}

TEST(RandomCheckpoint, WritesAFolderTheLoaderAcceptsWithTheRequestedGeometry) {
  const std::string dir = test::temp_dir("random");
  write_random_checkpoint(small_qwen2(), dir, test::fixture("models/qwen3-tiny"), 7);
  const ModelConfig loaded = load_model_config(dir);
  EXPECT_EQ(loaded.architecture, Architecture::Qwen2);
  EXPECT_EQ(loaded.hidden_size, 32);
  EXPECT_TRUE(loaded.attention_bias);
  const auto checkpoint = SafetensorsModel::open(dir);
  EXPECT_EQ(checkpoint.get("model.layers.1.mlp.down_proj.weight").dtype, DType::BF16);
  auto backend = make_cpu_backend(1);
  const ModelWeights w = load_model_weights(loaded, checkpoint, *backend);
  // Projections ~ U[-sqrt(3/fan_in), +]: |x| <= sqrt(3/32) ≈ 0.306 (plus bf16 rounding).
  const float* qkv = w.layers[0].qkv.as<float>();
  float max_abs = 0;
  for (int64_t i = 0; i < w.layers[0].qkv.numel(); ++i) max_abs = std::max(max_abs, std::fabs(qkv[i]));
  EXPECT_GT(max_abs, 0.25f);
  EXPECT_LT(max_abs, 0.31f);
  const float* norm = w.final_norm.as<float>();
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(norm[i], 1.0f, 0.101f);
}

TEST(RandomCheckpoint, PresetsHaveTheRealGeometries) {
  const ModelConfig q3 = geometry_preset("qwen3-0.6b");
  EXPECT_EQ(q3.num_hidden_layers, 28);
  EXPECT_EQ(q3.num_attention_heads, 16);
  EXPECT_EQ(q3.num_key_value_heads, 8);
  EXPECT_EQ(q3.head_dim, 128);
  const ModelConfig q2 = geometry_preset("qwen2.5-0.5b");
  EXPECT_EQ(q2.num_attention_heads, 14);
  EXPECT_EQ(q2.num_key_value_heads, 2);
  EXPECT_EQ(q2.head_dim, 64);
  EXPECT_THROW(geometry_preset("llama-7b"), Error);
}

}  // namespace
}  // namespace cascade

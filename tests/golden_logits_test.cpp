// End to end against Hugging Face transformers (fp32, eager attention): the tiny Qwen3
// (bf16 on disk, tied embeddings, head_dim != hidden / heads) and Qwen2 (f32, sharded,
// q/k/v bias) checkpoints of tests/fixtures, made by tools/make_fixtures.py. Logits at
// every position within 1e-4 relative, one prompt at a time and all prompts in one
// step, and the same 32 greedy tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/mapped_file.h"
#include "model/contiguous_runner.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "test_paths.h"

namespace cascade {
namespace {

// HF computes in fp32 too; what differs is summation order and RoPE's float rounding:
// 1e-4 relative to the row's largest logit leaves room for that, not for a wrong op.
constexpr double kTolerance = 1e-4;

struct Golden {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> greedy;
  std::vector<std::vector<float>> logits;  // [len(prompt i) · vocab]
};

Golden load_golden(const std::string& name, int vocab) {
  Golden g;
  const auto json =
      nlohmann::json::parse(read_text_file(test::fixture("golden/" + name + ".json")));
  g.prompts = json.at("prompts").get<std::vector<std::vector<int32_t>>>();
  g.greedy = json.at("greedy").get<std::vector<std::vector<int32_t>>>();
  const auto file =
      SafetensorsModel::open_file(test::fixture("golden/" + name + "-logits.safetensors"));
  for (size_t i = 0; i < g.prompts.size(); ++i) {
    const TensorRecord& r = file.get("logits." + std::to_string(i));
    EXPECT_EQ(r.dtype, DType::F32);
    EXPECT_EQ(r.shape, (Shape{static_cast<int64_t>(g.prompts[i].size()), vocab}));
    std::vector<float> logits(r.nbytes / sizeof(float));
    std::memcpy(logits.data(), r.data, r.nbytes);
    g.logits.push_back(std::move(logits));
  }
  return g;
}

// max over positions of (max over vocab |ours - hf| / max over vocab |hf|).
double max_relative_error(const std::vector<float>& ours, const std::vector<float>& hf, int vocab) {
  double worst = 0;
  for (size_t row = 0; row * vocab < hf.size(); ++row) {
    double diff = 0, scale = 0;
    for (size_t k = row * vocab; k < (row + 1) * vocab; ++k) {
      diff = std::max(diff, std::fabs(double(ours[k]) - hf[k]));
      scale = std::max(scale, std::fabs(double(hf[k])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

class GoldenLogitsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_dir = test::fixture("models/" + GetParam());
    const std::string golden = test::fixture("golden/" + GetParam() + ".json");
    ASSERT_TRUE(std::filesystem::exists(model_dir + "/config.json") &&
                std::filesystem::exists(golden))
        << "golden fixtures missing: " << model_dir << " and " << golden
        << " are made by tools/make_fixtures.py (HF transformers)";
    config = load_model_config(model_dir);
    const auto checkpoint = SafetensorsModel::open(model_dir);
    model = std::make_unique<DecoderModel>(config, load_model_weights(config, checkpoint, *backend),
                                           *backend);
    data = load_golden(GetParam(), config.vocab_size);
    ASSERT_EQ(data.logits.size(), data.prompts.size());
  }

  std::string model_dir;
  ModelConfig config;
  std::unique_ptr<Backend> backend = make_cpu_backend(0);
  std::unique_ptr<DecoderModel> model;
  Golden data;
};

TEST_P(GoldenLogitsTest, LogitsMatchTransformersOnePromptAtATime) {
  ContiguousRunner runner(*model);
  double worst = 0;
  for (size_t i = 0; i < data.prompts.size(); ++i) {
    const auto ours = runner.prefill_logits({data.prompts[i]});
    const double err = max_relative_error(ours[0], data.logits[i], config.vocab_size);
    EXPECT_LT(err, kTolerance) << GetParam() << " prompt " << i;
    worst = std::max(worst, err);
  }
  std::cout << GetParam() << ": max relative logits error, one prompt at a time: " << worst << "\n";
  RecordProperty("max_relative_error", std::to_string(worst));
}

TEST_P(GoldenLogitsTest, LogitsMatchTransformersAllPromptsInOneStep) {
  ContiguousRunner runner(*model);
  const auto ours = runner.prefill_logits(data.prompts);
  double worst = 0;
  for (size_t i = 0; i < data.prompts.size(); ++i) {
    const double err = max_relative_error(ours[i], data.logits[i], config.vocab_size);
    EXPECT_LT(err, kTolerance) << GetParam() << " prompt " << i;
    worst = std::max(worst, err);
  }
  std::cout << GetParam() << ": max relative logits error, all prompts in one step: " << worst
            << "\n";
}

TEST_P(GoldenLogitsTest, GreedyContinuationsMatchTransformers) {
  ContiguousRunner runner(*model);
  const auto batched = runner.greedy(data.prompts, 32);
  for (size_t i = 0; i < data.prompts.size(); ++i) {
    EXPECT_EQ(batched[i], data.greedy[i]) << GetParam() << " prompt " << i << " (batched)";
    EXPECT_EQ(runner.greedy({data.prompts[i]}, 32)[0], data.greedy[i])
        << GetParam() << " prompt " << i << " (alone)";
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, GoldenLogitsTest,
                         ::testing::Values("qwen3-tiny", "qwen2-tiny"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace cascade

// End to end against Hugging Face transformers (fp32, eager attention): the tiny Qwen3
// (bf16 on disk, tied embeddings, head_dim != hidden / heads) and Qwen2 (f32, sharded,
// q/k/v bias) checkpoints of tests/fixtures, made by tools/make_fixtures.py. Logits at
// every position within 1e-4 relative, one prompt at a time and all prompts in one
// step, and the same 32 greedy tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <vector>

#include "golden_fixture.h"
#include "model/contiguous_runner.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "model_loading.h"
#include "test_paths.h"

namespace cascade {
namespace {

// HF computes in fp32 too; what differs is summation order and RoPE's float rounding:
// 1e-4 relative to the row's largest logit leaves room for that, not for a wrong op.
constexpr double kTolerance = 1e-4;

using test::Golden;
using test::load_golden;
using test::max_relative_error;

class GoldenLogitsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_dir = test::fixture("models/" + GetParam());
    const std::string golden = test::fixture("golden/" + GetParam() + ".json");
    ASSERT_TRUE(std::filesystem::exists(model_dir + "/config.json") &&
                std::filesystem::exists(golden))
        << "golden fixtures missing: " << model_dir << " and " << golden
        << " are made by tools/make_fixtures.py (HF transformers)";
    model = test::load_decoder_model(model_dir, *backend);
    config = model->config();
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

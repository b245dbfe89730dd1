// The project's trained tiny Qwen3 (models/cascade-tiny-qwen3) against Hugging Face
// transformers on the same checkpoint: last-position logits (fp32 from the bf16 weights)
// within 1e-4 relative, and HF's 32-token greedy continuation, from golden.json written
// by tools/train_tiny_qwen3.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "model/contiguous_runner.h"
#include "model/decoder_model.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "test_paths.h"

namespace cascade {
namespace {

std::string trained_model() {
  return std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3";
}

TEST(TrainedModelGolden, LastLogitsAndGreedyMatchTransformers) {
  const auto golden = nlohmann::json::parse(read_text_file(trained_model() + "/golden.json"));
  const ModelConfig config = load_model_config(trained_model());
  auto backend = make_cpu_backend(2);
  const auto checkpoint = SafetensorsModel::open(trained_model());
  DecoderModel model(config, load_model_weights(config, checkpoint, *backend), *backend);
  ASSERT_GE(golden["prompts"].size(), 4u);
  for (const auto& g : golden["prompts"]) {
    const auto ids = g["prompt_ids"].get<std::vector<int32_t>>();
    const auto want = g["last_logits"].get<std::vector<float>>();
    ContiguousRunner runner(model);
    const auto all = runner.prefill_logits({ids}).at(0);
    const size_t vocab = want.size();
    ASSERT_EQ(all.size(), ids.size() * vocab);
    double max_ref = 0, max_err = 0;
    for (size_t v = 0; v < vocab; ++v) {
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[v])));
      max_err =
          std::max(max_err, std::fabs(static_cast<double>(all[all.size() - vocab + v]) - want[v]));
    }
    EXPECT_LT(max_err / max_ref, 1e-4) << g["id"];
    ContiguousRunner greedy_runner(model);
    EXPECT_EQ(greedy_runner.greedy({ids}, 32).at(0), g["greedy_ids"].get<std::vector<int32_t>>())
        << g["id"];
  }
}

}  // namespace
}  // namespace cascade

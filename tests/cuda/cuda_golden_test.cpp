// The CUDA backend (bf16) against Hugging Face transformers (fp32, the references of
// tests/fixtures made by tools/make_fixtures.py) on the tiny Qwen3 and Qwen2 checkpoints:
// logits at every position of every prompt in one prefill step, and 32 greedy tokens per
// prompt with the decode steps recorded as CUDA graphs (5 prompts: padded to a bucket of 8).
//
// Bound: the bf16 one of cuda_model_test (3e-2 of the row's largest logit; bf16 rounds
// every weight, activation and cached K/V to 8 significant bits). The references' smallest
// greedy margin (top-1 minus top-2 logit, `greedy_min_margin`) is 3.25, far above what
// that error can move, so the tokens must be equal.
#include "cuda_test_util.h"
#include "golden_fixture.h"
#include "model/contiguous_runner.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

using CudaGoldenTest = CudaBackendTest;

TEST_F(CudaGoldenTest, TinyFixturesMatchTransformers) {
  for (const std::string name : {"qwen3-tiny", "qwen2-tiny"}) {
    const std::string dir = fixture("models/" + name);
    const ModelConfig config = load_model_config(dir);
    const auto checkpoint = SafetensorsModel::open(dir);
    DecoderModel model(config, load_model_weights(config, checkpoint, *gpu), *gpu);
    model.set_graph_max_rows(64);
    const Golden hf = load_golden(name, config.vocab_size);
    ContiguousRunner runner(model);

    const auto logits = runner.prefill_logits(hf.prompts);
    double worst = 0;
    for (size_t i = 0; i < hf.prompts.size(); ++i) {
      worst = std::max(worst, max_relative_error(logits[i], hf.logits[i], config.vocab_size));
    }
    report("GPU vs transformers logits, " + name + " (worst row)", worst);
    EXPECT_LE(worst, 3e-2) << name;

    const auto greedy = runner.greedy(hf.prompts, 32);
    EXPECT_GT(model.graphs_recorded(), 0) << name << ": decode steps were not recorded";
    for (size_t i = 0; i < hf.prompts.size(); ++i) {
      EXPECT_EQ(greedy[i], hf.greedy[i]) << name << " prompt " << i;
    }
  }
}

}  // namespace
}  // namespace cascade::test

// The decoder forward against a naive double-precision Qwen3 / Qwen2 written out in full
// here, on small random weights; plus the step shapes the engine uses (batches, decode
// steps, chunked prefill, multi-task plans) against the plain prefill.
#include "model/decoder_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.h"
#include "model/contiguous_runner.h"
#include "reference_model.h"

namespace cascade {
namespace {

using namespace test;  // NOLINT: the reference model's helpers

std::vector<int32_t> random_tokens(size_t n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % uint32_t(vocab));
  return t;
}

class DecoderModelTest : public ::testing::TestWithParam<Architecture> {
 protected:
  ModelConfig config = tiny_config(GetParam());
  HostWeights host = random_weights(config, 42);
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  DecoderModel model{config, upload_weights(config, host, *backend), *backend};
  const std::vector<std::vector<int32_t>> prompts = {
      random_tokens(1, 37, 1), random_tokens(19, 37, 2), random_tokens(6, 37, 3)};

  std::vector<float> run(const ForwardBatch& batch, std::vector<KvLayer>& kv) {
    const Tensor t = model.forward(batch, kv);
    std::vector<float> host_logits(size_t(t.numel()));
    backend->download_f32(t, host_logits.data());
    return host_logits;
  }
};

// Two layers of f32 products with O(1) activations: errors of a few 1e-7 relative.
constexpr double kTolerance = 1e-5;

TEST_P(DecoderModelTest, PrefillMatchesNaiveReferenceAloneAndBatched) {
  ContiguousRunner runner(model, 4);
  const auto batched = runner.prefill_logits(prompts);
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto alone = runner.prefill_logits({prompts[p]});
    const auto want = reference_logits(config, host, prompts[p]);
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LT(row_error(&alone[0][t * 37], want[t]), kTolerance)
          << "prompt " << p << " pos " << t;
      EXPECT_LT(row_error(&batched[p][t * 37], want[t]), kTolerance)
          << "prompt " << p << " pos " << t;
    }
  }
}

TEST_P(DecoderModelTest, GreedyDecodeStepsAgreeWithFullPrefill) {
  ContiguousRunner runner(model, 4);
  const auto generated = runner.greedy(prompts, 9);
  ASSERT_EQ(generated.size(), prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    ASSERT_EQ(generated[p].size(), 9u);
    std::vector<int32_t> seq = prompts[p];
    for (int32_t token : generated[p]) {
      const DVec last = reference_logits(config, host, seq).back();
      const auto best = std::max_element(last.begin(), last.end()) - last.begin();
      ASSERT_EQ(token, best) << "prompt " << p << " after " << seq.size() << " tokens";
      seq.push_back(token);
    }
  }
}

TEST_P(DecoderModelTest, ChunkedPrefillWithPrefixTaskMatchesReference) {
  // Tokens [0, 12) in a first step; tokens [12, 19) in a second step that attends to the
  // first chunk through a non-causal task on its pages and to itself through a causal one.
  const auto& tokens = prompts[1];
  const auto want = reference_logits(config, host, tokens);
  const int page_size = 4;
  auto kv = model.allocate_kv_cache(8, page_size);
  const std::vector<int32_t> pages = {6, 1, 3, 0, 7};  // page j of the sequence
  const auto step = [&](int begin, int end, bool split) {
    ForwardBatch b;
    b.plan.page_size = page_size;
    b.plan.num_rows = end - begin;
    std::vector<int32_t> rows;
    for (int t = begin; t < end; ++t) {
      rows.push_back(t - begin);
      b.token_ids.push_back(tokens[t]);
      b.positions.push_back(t);
      b.slots.push_back(pages[t / page_size] * page_size + t % page_size);
      b.logits_rows.push_back(t - begin);
    }
    const auto span = [&](int first, int last) {
      return std::vector<int32_t>(pages.begin() + first, pages.begin() + last);
    };
    if (split) {
      b.plan.add_task(rows, span(0, begin / page_size), begin, 0, 0, false);
      b.plan.add_task(rows, span(begin / page_size, (end + page_size - 1) / page_size), end - begin,
                      begin, 0, true);
    } else {
      b.plan.add_task(rows, span(0, (end + page_size - 1) / page_size), end, 0, 0, true);
    }
    b.plan.finalize();
    return run(b, kv);
  };
  for (bool split : {false, true}) {
    const auto first = step(0, 12, false);
    const auto second = step(12, 19, split);
    for (int t = 0; t < 12; ++t) EXPECT_LT(row_error(&first[t * 37], want[t]), kTolerance);
    for (int t = 12; t < 19; ++t) {
      EXPECT_LT(row_error(&second[(t - 12) * 37], want[t]), kTolerance) << "split " << split;
    }
  }
}

TEST_P(DecoderModelTest, LogitsRowsSelectAndOrderTheRows) {
  auto kv = model.allocate_kv_cache(2, 8);
  ForwardBatch b;
  b.token_ids = {3, 9, 27};
  b.positions = {0, 1, 2};
  b.slots = {0, 1, 2};
  b.plan.page_size = 8;
  b.plan.num_rows = 3;
  b.plan.add_task({0, 1, 2}, {0}, 3, 0, 0, true);
  b.plan.finalize();
  b.logits_rows = {2, 0};
  const auto got = run(b, kv);
  ASSERT_EQ(got.size(), 2u * 37);
  const auto want = reference_logits(config, host, b.token_ids);
  EXPECT_LT(row_error(&got[0], want[2]), kTolerance);
  EXPECT_LT(row_error(&got[37], want[0]), kTolerance);
}

TEST_P(DecoderModelTest, RejectsMalformedBatches) {
  auto kv = model.allocate_kv_cache(1, 8);
  ForwardBatch b;
  b.token_ids = {37};  // outside the vocabulary
  b.positions = {0};
  b.slots = {0};
  b.plan.page_size = 8;
  b.plan.num_rows = 1;
  b.plan.add_task({0}, {0}, 1, 0, 0, true);
  b.plan.finalize();
  EXPECT_THROW(model.forward(b, kv), Error);
  b.token_ids = {5};
  b.slots = {0, 1};
  EXPECT_THROW(model.forward(b, kv), Error);
  b.slots = {0};
  b.logits_rows = {1};
  EXPECT_THROW(model.forward(b, kv), Error);
  b.logits_rows = {0};
  EXPECT_EQ(model.forward(b, kv).dim(1), 37);
}

// The head layouts of the real checkpoints (Qwen3-0.6B: 16 q / 8 kv heads of 128;
// Qwen2.5-0.5B: 14 q / 2 kv heads of 64) at a small width, against the naive reference.
TEST(DecoderModelHeads, RealModelHeadLayoutsMatchTheReference) {
  struct Heads {
    Architecture arch;
    int q, kv, dim;
  };
  for (const Heads h :
       {Heads{Architecture::Qwen3, 16, 8, 128}, Heads{Architecture::Qwen2, 14, 2, 64}}) {
    ModelConfig c = tiny_config(h.arch);
    c.num_attention_heads = h.q;
    c.num_key_value_heads = h.kv;
    c.head_dim = h.dim;
    c.num_hidden_layers = 1;
    const HostWeights host = random_weights(c, 7);
    auto backend = make_cpu_backend(2);
    DecoderModel model(c, upload_weights(c, host, *backend), *backend);
    ContiguousRunner runner(model, 16);
    const auto prompt = random_tokens(21, c.vocab_size, 9);
    const auto got = runner.prefill_logits({prompt}).at(0);
    const auto want = reference_logits(c, host, prompt);
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LT(row_error(&got[t * static_cast<size_t>(c.vocab_size)], want[t]), kTolerance)
          << h.q << "/" << h.kv << " heads of " << h.dim << ", pos " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, DecoderModelTest,
                         ::testing::Values(Architecture::Qwen3, Architecture::Qwen2),
                         [](const ::testing::TestParamInfo<Architecture>& param_info) {
                           return param_info.param == Architecture::Qwen3 ? "Qwen3" : "Qwen2";
                         });

}  // namespace
}  // namespace cascade

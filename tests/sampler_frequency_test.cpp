// Empirical token frequencies against the exact distribution the sampler must draw from.
//
// Bound: with N draws, the count of a token (or a group of tokens) of probability p is
// Binomial(N, p), so its frequency f has standard error se = sqrt(p (1 - p) / N). Every
// checked p here has N p >= 3000, so the normal approximation holds and
// P(|f - p| > 4.5 se) = 2 Phi(-4.5) = 6.8e-6 per check; over the 31 checks of non-zero
// probabilities in this file a correct sampler fails with probability below 2.2e-4 for an
// arbitrary seed. Seeds are fixed, so the tests are deterministic; the bound says why passing
// is evidence. Power: the mistakes these tests target move some p by >= 5 se (ignoring the
// temperature 0.7 of the first test shifts token 0 by 85 se), and a token outside the support
// must have a count of exactly 0.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/sampler.h"

namespace cascade {
namespace {

constexpr int kDraws = 200000;
constexpr double kStandardErrors = 4.5;

SamplingParams make_params(float temperature, int top_k, float top_p) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  return p;
}

// softmax(logits / temperature) in double, restricted to `support` (all tokens if empty).
std::vector<double> expected_probabilities(const std::vector<float>& logits, double temperature,
                                           const std::vector<int>& support = {}) {
  std::vector<double> p(logits.size(), 0.0);
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    bool in = support.empty();
    for (int s : support) in = in || static_cast<size_t>(s) == i;
    if (!in) continue;
    p[i] = std::exp(logits[i] / temperature);
    total += p[i];
  }
  for (auto& x : p) x /= total;
  return p;
}

std::vector<int> counts_of_draws(const std::vector<float>& logits, const SamplingParams& params,
                                 uint64_t seed, int draws = kDraws) {
  SamplerScratch scratch;
  RequestRng rng(seed);
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i)
    ++counts[static_cast<size_t>(sample_token(logits, params, rng, scratch))];
  return counts;
}

void expect_frequencies(const std::vector<int>& counts, const std::vector<double>& expected) {
  for (size_t i = 0; i < counts.size(); ++i) {
    if (expected[i] == 0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " lies outside the support";
      continue;
    }
    const double frequency = static_cast<double>(counts[i]) / kDraws;
    const double se = std::sqrt(expected[i] * (1 - expected[i]) / kDraws);
    EXPECT_NEAR(frequency, expected[i], kStandardErrors * se) << "token " << i;
  }
}

TEST(SamplerFrequency, SoftmaxAtTemperature07) {
  // p = 0.533, 0.261, 0.128, 0.063, 0.015.
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f, -1.5f};
  expect_frequencies(counts_of_draws(logits, make_params(0.7f, 0, 1), 11),
                     expected_probabilities(logits, 0.7));
}

TEST(SamplerFrequency, TemperatureSharpensAndFlattens) {
  // The same logits at T = 0.5 and T = 2: p(token 0) = 0.867 and 0.506; checks each matches
  // its own softmax, which also pins the direction of the change.
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  for (float t : {0.5f, 2.0f}) {
    SCOPED_TRACE(t);
    expect_frequencies(counts_of_draws(logits, make_params(t, 0, 1), 12),
                       expected_probabilities(logits, t));
  }
}

// Token ids are shuffled relative to rank so that an id-order shortcut would be caught.
// Probabilities 0.4, 0.3, 0.15, 0.1, 0.05 sit at ids 3, 0, 4, 1, 2.
const std::vector<float> kRanked = {std::log(0.3f), std::log(0.1f), std::log(0.05f), std::log(0.4f),
                                    std::log(0.15f)};

TEST(SamplerFrequency, TopKRestrictsAndRenormalises) {
  // top_k = 3 keeps ids 3, 0, 4 with 0.4/0.85, 0.3/0.85, 0.15/0.85.
  expect_frequencies(counts_of_draws(kRanked, make_params(1, 3, 1), 13),
                     expected_probabilities(kRanked, 1, {3, 0, 4}));
}

TEST(SamplerFrequency, TopPKeepsTheSmallestSetReachingTheMass) {
  // top_p = 0.8: 0.4 + 0.3 = 0.7 < 0.8, adding 0.15 reaches 0.85, so ids 3, 0, 4.
  expect_frequencies(counts_of_draws(kRanked, make_params(1, 0, 0.8f), 14),
                     expected_probabilities(kRanked, 1, {3, 0, 4}));
}

TEST(SamplerFrequency, TopPAppliesToTheRenormalisedTopK) {
  // top_k = 2 keeps 0.4 and 0.3, i.e. 0.571 and 0.429 renormalised; top_p = 0.55 then keeps
  // only id 3 (0.571 >= 0.55). Applied to the unrenormalised mass it would keep both.
  const auto counts = counts_of_draws(kRanked, make_params(1, 2, 0.55f), 15);
  EXPECT_EQ(counts[3], kDraws);
  // top_p = 0.6 keeps both, at 4:3.
  expect_frequencies(counts_of_draws(kRanked, make_params(1, 2, 0.6f), 16),
                     expected_probabilities(kRanked, 1, {3, 0}));
}

// A vocabulary of 4 blocks of 128 tokens (the sampler walks its running sum block by block):
// every token of block b has logit ln(b + 1), so block b holds mass (b + 1) / 10. These draw
// kDraws / 2 times to keep the run short (N p >= 5000 for every checked group still).
constexpr int kBlocks = 4;
constexpr int kBlockDraws = kDraws / 2;

std::vector<float> blocky_logits() {
  std::vector<float> logits(kBlocks * 128);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::log(static_cast<float>(i / 128 + 1));
  return logits;
}

// Draw frequencies summed per half block (so that both which block and where inside it are
// checked), against `expected` summed the same way; tokens of probability 0 are never drawn.
void expect_half_block_frequencies(const std::vector<int>& counts,
                                   const std::vector<double>& expected) {
  for (size_t group = 0; group < 2 * kBlocks; ++group) {
    int count = 0;
    double p = 0;
    for (size_t i = group * 64; i < (group + 1) * 64; ++i) {
      if (expected[i] == 0) {
        EXPECT_EQ(counts[i], 0) << "token " << i << " lies outside the support";
      }
      count += counts[i];
      p += expected[i];
    }
    if (p == 0) continue;
    const double se = std::sqrt(p * (1 - p) / kBlockDraws);
    EXPECT_NEAR(static_cast<double>(count) / kBlockDraws, p, kStandardErrors * se)
        << "tokens " << group * 64 << ".." << (group + 1) * 64 - 1;
  }
}

TEST(SamplerFrequency, BlockMassesOverALargerVocabulary) {
  const auto logits = blocky_logits();
  expect_half_block_frequencies(counts_of_draws(logits, make_params(1, 0, 1), 17, kBlockDraws),
                                expected_probabilities(logits, 1));
}

TEST(SamplerFrequency, TopPOverALargerVocabularyCutsInsideATieBlock) {
  // top_p = 0.6 needs 6 of the 10 units: block 3 gives 4, and block 2's equal tokens
  // (3/128 unit each, ranked by id) give the rest with ceil(2 · 128 / 3) = 86 tokens.
  const auto logits = blocky_logits();
  std::vector<int> support;
  for (int i = 3 * 128; i < 4 * 128; ++i) support.push_back(i);
  for (int i = 2 * 128; i < 2 * 128 + 86; ++i) support.push_back(i);
  expect_half_block_frequencies(counts_of_draws(logits, make_params(1, 0, 0.6f), 18, kBlockDraws),
                                expected_probabilities(logits, 1, support));
}

}  // namespace
}  // namespace cascade

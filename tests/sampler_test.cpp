#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <vector>

#include "base/error.h"
#include "ops/cpu/thread_pool.h"

namespace cascade {
namespace {

SamplingParams make_params(float temperature, int top_k, float top_p) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = top_p;
  return p;
}

// Logits drawn from a fixed stream; `levels` > 0 rounds them onto that many values so that
// ties are common.
std::vector<float> random_logits(size_t vocab, uint64_t seed, int levels = 0) {
  RequestRng rng(seed);
  std::vector<float> logits(vocab);
  for (auto& l : logits) {
    const double u = rng.next_uniform();
    l = levels > 0 ? static_cast<float>(std::floor(u * levels)) : static_cast<float>(8 * u - 4);
  }
  return logits;
}

int32_t reference_argmax(const std::vector<float>& logits) {
  int32_t best = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

// Obviously-correct support: sort every token by (logit desc, id asc), keep the first top_k,
// then the shortest prefix whose weight (summed in sorted order) reaches top_p of the kept
// weight. Returns the ids; `margin` receives how far the cut's running mass was from the
// top-p threshold (relative), so a cut decided by rounding is reported, not hidden.
std::set<int32_t> reference_support(const std::vector<float>& logits, const SamplingParams& p,
                                    double* margin, double* total_weight) {
  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const float la = logits[static_cast<size_t>(a)], lb = logits[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order.size())
    order.resize(static_cast<size_t>(p.top_k));
  const float max_logit = logits[static_cast<size_t>(order[0])];
  std::vector<double> weight;
  double total = 0;
  for (int32_t id : order) {
    weight.push_back(std::exp((logits[static_cast<size_t>(id)] - max_logit) / p.temperature));
    total += weight.back();
  }
  *margin = 1;
  *total_weight = total;
  size_t kept = order.size();
  if (p.top_p < 1) {
    const double need = p.top_p * total;
    double mass = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      const double before = mass;
      mass += weight[i];
      if (mass >= need) {
        kept = i + 1;
        *margin = std::min((mass - need) / total, (need - before) / total);
        break;
      }
    }
  }
  return std::set<int32_t>(order.begin(), order.begin() + static_cast<ptrdiff_t>(kept));
}

TEST(Sampler, GreedyPicksTheArgmaxAndTheLowestIdOnTies) {
  SamplerScratch scratch;
  RequestRng rng(1);
  const std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f};
  for (const auto& p : {make_params(0, 0, 1), make_params(0.8f, 1, 1), make_params(0, 50, 0.5f)}) {
    EXPECT_EQ(sample_token(logits, p, rng, scratch), 1);
  }
  EXPECT_EQ(rng.draws(), 0u) << "greedy must consume no randomness";
  const std::vector<float> masked = {-INFINITY, -INFINITY, -7.0f};
  EXPECT_EQ(sample_token(masked, make_params(0, 0, 1), rng, scratch), 2);
}

TEST(Sampler, TopK1EqualsGreedyForRandomLogits) {
  SamplerScratch scratch;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const auto logits = random_logits(1000, seed, seed % 2 == 0 ? 20 : 0);
    RequestRng rng(seed);
    const auto p = make_params(1.3f, 1, 0.9f);
    EXPECT_EQ(sample_token(logits, p, rng, scratch), reference_argmax(logits)) << seed;
  }
}

void expect_support_matches_reference(const std::vector<float>& logits, const SamplingParams& p,
                                      SamplerScratch& scratch) {
  SCOPED_TRACE(testing::Message() << "vocab " << logits.size() << " top_k " << p.top_k << " top_p "
                                  << p.top_p << " T " << p.temperature);
  double margin = 0, total = 0;
  const auto expected = reference_support(logits, p, &margin, &total);
  // The sampler's integer masses (weight · 2^40, truncated) move a cut by less than one unit
  // per token: vocab · 2^-40 of the best token's weight, which is 1.
  const double quantum = static_cast<double>(logits.size()) * 0x1p-40 / total;
  ASSERT_GT(margin, std::max(1e-9, quantum)) << "top-p cut too close to call; change top_p";
  std::set<int32_t> got;
  for (const auto& c : select_candidates(logits, p, scratch)) {
    EXPECT_TRUE(got.insert(c.id).second) << "token " << c.id << " listed twice";
  }
  EXPECT_EQ(got, expected);
}

TEST(Sampler, SupportMatchesTheSortedReferenceExactly) {
  SamplerScratch scratch;
  for (size_t vocab : {1u, 7u, 2000u}) {
    for (int levels : {0, 12}) {  // distinct logits, then many ties (top-k boundary by id)
      const auto logits = random_logits(vocab, vocab * 31 + static_cast<size_t>(levels), levels);
      for (int top_k : {0, 2, 5, 100, 1999, 5000}) {
        for (float top_p : {1.0f, 0.93f, 0.61f, 0.13f, 1e-4f}) {
          for (float temperature : {0.05f, 0.5f, 1.0f, 2.0f, 50.0f}) {
            expect_support_matches_reference(logits, make_params(temperature, top_k, top_p),
                                             scratch);
          }
        }
      }
    }
  }
  // At Qwen3's vocabulary size, where top-p over the full vocabulary ranks by buckets.
  const auto logits = random_logits(151936, 5);
  for (int top_k : {0, 50})
    for (float top_p : {0.9f, 0.37f})
      expect_support_matches_reference(logits, make_params(0.7f, top_k, top_p), scratch);
}

TEST(Sampler, TopKTiesAtTheBoundaryGoToTheLowerIds) {
  SamplerScratch scratch;
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f, 1.0f, 1.0f, 1.0f};
  std::set<int32_t> got;
  for (const auto& c : select_candidates(logits, make_params(1, 4, 1), scratch)) got.insert(c.id);
  EXPECT_EQ(got, (std::set<int32_t>{1, 3, 2, 4}));
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  SamplerScratch scratch;
  const auto logits = random_logits(5000, 99);  // flat enough that draws vary
  const auto p = make_params(1.0f, 0, 1.0f);
  auto run = [&](uint64_t seed) {
    RequestRng rng(seed);
    std::vector<int32_t> tokens;
    for (int step = 0; step < 64; ++step) tokens.push_back(sample_token(logits, p, rng, scratch));
    return tokens;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Sampler, SeededDrawsDoNotDependOnBatchPositionOrThreadCount) {
  const int vocab = 3000;
  const int rows = 9;
  const std::vector<SamplingParams> mix = {make_params(0.7f, 0, 1), make_params(1, 40, 0.9f),
                                           make_params(0, 0, 1), make_params(1.5f, 0, 0.6f)};
  const auto target_params = make_params(0.9f, 200, 0.95f);
  const uint64_t target_seed = 2024;
  const auto target_logits = random_logits(vocab, 77);

  // Alone: 20 steps on the same logits.
  std::vector<int32_t> alone;
  {
    SamplerScratch scratch;
    RequestRng rng(target_seed);
    for (int step = 0; step < 20; ++step)
      alone.push_back(sample_token(target_logits, target_params, rng, scratch));
  }
  ThreadPool one(1), four(4);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &one, &four}) {
    for (int position : {0, 4, rows - 1}) {
      std::vector<float> logits;
      std::vector<SamplingParams> params;
      std::vector<RequestRng> rng_storage;
      for (int r = 0; r < rows; ++r) {
        const bool target = r == position;
        const auto row =
            target ? target_logits : random_logits(vocab, 1000 + static_cast<uint64_t>(r));
        logits.insert(logits.end(), row.begin(), row.end());
        params.push_back(target ? target_params : mix[static_cast<size_t>(r) % mix.size()]);
        rng_storage.emplace_back(target ? target_seed : static_cast<uint64_t>(r));
      }
      std::vector<const SamplingParams*> param_ptrs;
      std::vector<RequestRng*> rng_ptrs;
      for (int r = 0; r < rows; ++r) {
        param_ptrs.push_back(&params[static_cast<size_t>(r)]);
        rng_ptrs.push_back(&rng_storage[static_cast<size_t>(r)]);
      }
      std::vector<int32_t> out(rows);
      for (int step = 0; step < 20; ++step) {
        sample_tokens(logits.data(), rows, vocab, param_ptrs, rng_ptrs, out, pool);
        EXPECT_EQ(out[static_cast<size_t>(position)], alone[static_cast<size_t>(step)])
            << "position " << position << " step " << step << " threads "
            << (pool ? pool->threads() : 0);
      }
    }
  }
}

TEST(Sampler, MaskedTokensAreNeverDrawn) {
  SamplerScratch scratch;
  RequestRng rng(3);
  std::vector<float> logits(64, -INFINITY);
  logits[10] = 0.0f;
  logits[40] = 0.5f;
  for (int i = 0; i < 2000; ++i) {
    const int32_t t = sample_token(logits, make_params(5.0f, 0, 1), rng, scratch);
    ASSERT_TRUE(t == 10 || t == 40) << t;
  }
}

TEST(Sampler, BadLogitsAreErrorsNamingTheIndex) {
  SamplerScratch scratch;
  RequestRng rng(3);
  auto message = [&](std::vector<float> logits, const SamplingParams& p) -> std::string {
    try {
      sample_token(logits, p, rng, scratch);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  for (const auto& p : {make_params(0, 0, 1), make_params(1, 2, 1), make_params(1, 0, 0.5f)}) {
    EXPECT_EQ(message({0.0f, NAN, 1.0f}, p),
              "sampler: logits[1] is nan (logits must be finite or -inf)");
    EXPECT_EQ(message({0.0f, 1.0f, INFINITY}, p),
              "sampler: logits[2] is inf (logits must be finite or -inf)");
    EXPECT_EQ(message({-INFINITY, -INFINITY, -INFINITY}, p),
              "sampler: every logit is -inf, no token can be sampled");
    EXPECT_EQ(message({}, p), "sampler: logits row is empty");
  }
  std::vector<float> logits(8, 0.0f);
  std::vector<const SamplingParams*> params(1);
  std::vector<RequestRng*> rngs(2);
  std::vector<int32_t> out(2);
  EXPECT_THROW(sample_tokens(logits.data(), 2, 4, params, rngs, out), Error);
}

// Not a pass/fail test: prints the cost of one row at Qwen3's vocabulary size.
TEST(Sampler, TimingAtQwen3Vocabulary) {
  const size_t vocab = 151936;
  std::vector<std::vector<float>> rows;
  for (uint64_t r = 0; r < 8; ++r) {
    // Roughly LLM-shaped: a Gaussian-ish bulk (sum of uniforms) with a few strong tokens.
    RequestRng rng(r);
    std::vector<float> row(vocab);
    for (auto& l : row) {
      double s = 0;
      for (int i = 0; i < 4; ++i) s += rng.next_uniform();
      l = static_cast<float>(3 * (s - 2));
    }
    for (int i = 0; i < 5; ++i) row[rng.next_u64() % vocab] = 15.0f - static_cast<float>(i);
    rows.push_back(std::move(row));
  }
  SamplerScratch scratch;
  RequestRng rng(1);
  struct Case {
    const char* name;
    SamplingParams params;
    int reps;
  };
  for (const auto& c : {Case{"top_k=50 top_p=0.9", make_params(0.7f, 50, 0.9f), 400},
                        Case{"top_p=0.9", make_params(1.0f, 0, 0.9f), 40},
                        Case{"temperature only", make_params(1.0f, 0, 1.0f), 40},
                        Case{"greedy", make_params(0.0f, 0, 1.0f), 400}}) {
    int64_t checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < c.reps; ++i)
      checksum += sample_token(rows[static_cast<size_t>(i) % rows.size()], c.params, rng, scratch);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count() /
        c.reps;
    std::printf("[ sampler  ] vocab %zu, %-20s %8.1f us/row (checksum %lld)\n", vocab, c.name, us,
                static_cast<long long>(checksum));
  }
}

}  // namespace
}  // namespace cascade

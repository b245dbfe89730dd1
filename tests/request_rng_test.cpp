#include "engine/request_rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace cascade {
namespace {

std::vector<double> uniforms(uint64_t seed, int n) {
  RequestRng rng(seed);
  std::vector<double> out(static_cast<size_t>(n));
  for (auto& u : out) u = rng.next_uniform();
  return out;
}

TEST(RequestRng, SameSeedGivesTheSameSequence) {
  EXPECT_EQ(uniforms(42, 1000), uniforms(42, 1000));
}

TEST(RequestRng, DifferentSeedsGiveDifferentSequences) {
  // Neighbouring seeds (as the engine's seed counter hands out) and one a gamma apart, which
  // would be a shifted copy if the seed were not mixed before use.
  const auto base = uniforms(1, 1000);
  for (uint64_t other : {0ULL, 2ULL, 1ULL + 0x9e3779b97f4a7c15ULL}) {
    const auto seq = uniforms(other, 1000);
    int equal = 0;
    for (size_t i = 0; i < base.size(); ++i) equal += base[i] == seq[i];
    for (size_t i = 0; i + 1 < base.size(); ++i) equal += base[i + 1] == seq[i];
    EXPECT_EQ(equal, 0) << "seed " << other;
  }
}

TEST(RequestRng, DrawKDependsOnlyOnSeedAndK) {
  // Draw k is a pure function of (seed, k): interleaving another stream changes nothing.
  RequestRng a(7), b(7), other(8);
  for (int k = 0; k < 100; ++k) {
    other.next_uniform();
    EXPECT_EQ(a.next_u64(), b.next_u64());
  }
  EXPECT_EQ(a.draws(), 100u);
}

TEST(RequestRng, UniformsAreInUnitIntervalWithTheRightMoments) {
  // n = 10^6 uniforms: mean has standard error sqrt(1/12 / n) = 2.9e-4; the variance estimate
  // sqrt((1/80 - 1/144) / n) = 7.5e-5. Bounds are 4.5 standard errors.
  const int n = 1000000;
  const auto u = uniforms(123, n);
  double sum = 0, sum_sq = 0;
  for (double x : u) {
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
    sum_sq += x * x;
  }
  const double mean = sum / n;
  const double variance = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 4.5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(variance, 1.0 / 12, 4.5 * std::sqrt((1.0 / 80 - 1.0 / 144) / n));
  // Serial correlation of consecutive draws: standard error 1/sqrt(n) for independent draws.
  double lag = 0;
  for (size_t i = 0; i + 1 < u.size(); ++i) lag += (u[i] - 0.5) * (u[i + 1] - 0.5);
  EXPECT_NEAR(lag / (n - 1) / (1.0 / 12), 0.0, 4.5 / std::sqrt(n));
}

}  // namespace
}  // namespace cascade

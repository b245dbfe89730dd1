#include "cascade/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "base/error.h"
#include "expect_error.h"

namespace cascade {
namespace {

std::string validation_error(const std::function<void(SamplingParams&)>& edit) {
  return test::validation_error<SamplingParams>(edit);
}

TEST(SamplingParams, DefaultsAndBoundaryValuesAreValid) {
  EXPECT_EQ(validation_error([](SamplingParams&) {}), "");
  EXPECT_EQ(validation_error([](SamplingParams& p) {
              p.temperature = 0;
              p.top_k = 0;
              p.top_p = 1;
              p.max_tokens = 1;
              p.stop = {"\n"};
              p.stop_token_ids = {0};
              p.seed = std::numeric_limits<uint64_t>::max();
            }),
            "");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_p = 1e-6f; }), "");
}

TEST(SamplingParams, TemperatureMustBeFiniteAndNonNegative) {
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.temperature = -0.5f; }),
            "temperature must be >= 0 (got -0.5)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.temperature = NAN; }),
            "temperature must be >= 0 (got nan)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.temperature = INFINITY; }),
            "temperature must be finite (got inf)");
}

TEST(SamplingParams, TopPMustBeInZeroToOne) {
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_p = 0; }),
            "top_p must be in (0, 1] (got 0)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_p = 1.5f; }),
            "top_p must be in (0, 1] (got 1.5)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_p = -0.25f; }),
            "top_p must be in (0, 1] (got -0.25)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_p = NAN; }),
            "top_p must be in (0, 1] (got nan)");
}

TEST(SamplingParams, TopKMustBeNonNegative) {
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.top_k = -1; }),
            "top_k must be >= 0 (got -1)");
}

TEST(SamplingParams, MaxTokensMustBePositive) {
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.max_tokens = 0; }),
            "max_tokens must be >= 1 (got 0)");
  EXPECT_EQ(validation_error([](SamplingParams& p) { p.max_tokens = -3; }),
            "max_tokens must be >= 1 (got -3)");
}

TEST(SamplingParams, StopTokenIdsMustBeNonNegative) {
  EXPECT_EQ(validation_error([](SamplingParams& p) {
              p.stop_token_ids = {5, -2};
            }),
            "stop_token_ids[1] must be >= 0 (got -2)");
}

TEST(SamplingParams, StopStringsMustNotBeEmpty) {
  EXPECT_EQ(validation_error([](SamplingParams& p) {
              p.stop = {"END", ""};
            }),
            "stop[1] must not be an empty string");
}

}  // namespace
}  // namespace cascade

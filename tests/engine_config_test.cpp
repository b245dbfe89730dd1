#include "cascade/engine_config.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "expect_error.h"

namespace cascade {
namespace {

std::string validation_error(const std::function<void(EngineConfig&)>& edit) {
  return test::validation_error<EngineConfig>(edit);
}

TEST(EngineConfig, CascadeMinSharedTokensTakesMinusOneForTheBackendDefault) {
  EXPECT_EQ(EngineConfig{}.cascade_min_shared_tokens, -1);
  EXPECT_EQ(validation_error([](EngineConfig&) {}), "");
  EXPECT_EQ(validation_error([](EngineConfig& c) { c.cascade_min_shared_tokens = 0; }), "");
  EXPECT_EQ(validation_error([](EngineConfig& c) { c.cascade_min_shared_tokens = 4096; }), "");
  EXPECT_EQ(validation_error([](EngineConfig& c) { c.cascade_min_shared_tokens = -2; }),
            "cascade_min_shared_tokens must be >= 0, or -1 for the backend's default (got -2)");
}

TEST(EngineConfig, NamesTheFieldOfAnOutOfRangeCascadeSetting) {
  EXPECT_EQ(validation_error([](EngineConfig& c) { c.max_cascade_levels = -1; }),
            "max_cascade_levels must be >= 0");
  EXPECT_NE(validation_error([](EngineConfig& c) {
              c.chunk_page_ratio = 0;
            }).find("chunk_page_ratio must be in (0, 1]"),
            std::string::npos);
}

}  // namespace
}  // namespace cascade

// The coherence suite on the CPU: each mode must answer at least kMinCoherenceAccuracy
// exactly, without loops, with the reasoning split from the answer, and cascade must not
// change a token.
#include <gtest/gtest.h>

#include "coherence_suite.h"

namespace cascade::test {
namespace {

TEST(Coherence, PlainPrompts) {
  const auto suite = load_coherence_suite();
  ASSERT_GE(suite.size(), 300u);
  run_coherence_mode(suite, {.name = "plain"});
}

TEST(Coherence, ExactModeCascadeOffAndOn) {
  const auto suite = load_coherence_suite();
  const auto off = run_coherence_mode(suite, {.name = "exact, cascade off", .composed = true});
  const auto on =
      run_coherence_mode(suite, {.name = "exact, cascade on", .composed = true, .cascade = true});
  EXPECT_EQ(on.tokens, off.tokens);
}

TEST(Coherence, CompositionalModeCascadeOffAndOn) {
  const auto suite = load_coherence_suite();
  const auto off = run_coherence_mode(suite, {.name = "compositional, cascade off",
                                              .composed = true,
                                              .chunk_mode = ChunkMode::Compositional});
  const auto on = run_coherence_mode(suite, {.name = "compositional, cascade on",
                                             .composed = true,
                                             .chunk_mode = ChunkMode::Compositional,
                                             .cascade = true});
  EXPECT_EQ(on.tokens, off.tokens);
}

}  // namespace
}  // namespace cascade::test

// check(): the eager form and the lazy one used on per-op paths, whose message must be
// built only when the check fails.
#include <gtest/gtest.h>

#include "base/error.h"

namespace cascade {
namespace {

TEST(Check, LazyMessageIsBuiltOnlyOnFailure) {
  int built = 0;
  const auto message = [&] {
    ++built;
    return std::string("op: argument 'x' must be bf16, got f32");
  };
  check(true, message);
  EXPECT_EQ(built, 0);
  try {
    check(false, message);
    FAIL() << "no Error thrown";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "op: argument 'x' must be bf16, got f32");
  }
  EXPECT_EQ(built, 1);
}

TEST(Check, EagerFormsThrowTheirMessage) {
  EXPECT_NO_THROW(check(true, "never shown"));
  EXPECT_THROW(check(false, std::string("shown")), Error);
  EXPECT_THROW(check(false, "shown"), Error);
}

}  // namespace
}  // namespace cascade

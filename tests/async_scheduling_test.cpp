// Asynchronous scheduling on the CPU backend, where the host sampler draws each step as
// it runs and the engine's pending ids are substituted on the host
// (async_scheduling_suite.h says what each check asserts).
#include <gtest/gtest.h>

#include "async_scheduling_suite.h"

namespace cascade::test {
namespace {

TEST(AsyncScheduling, OutputsEqualWaitingForEachStep) {
  check_async_outputs_equal_waiting("cpu");
}

TEST(AsyncScheduling, StopTokenIdsEndOutputsAtTheSameToken) {
  check_async_stop_token_ids("cpu");
}

TEST(AsyncScheduling, APoolTooSmallPreemptsAndStillGivesTheSameOutputs) {
  check_async_preemption("cpu");
}

TEST(AsyncScheduling, StreamedDeltasAddUpToTheOutputAndAbortsLoseNothingElse) {
  check_async_streaming_and_abort("cpu");
}

}  // namespace
}  // namespace cascade::test

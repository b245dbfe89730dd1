// Asynchronous scheduling on the GPU: the device samples each step ahead and the next
// step's embedding reads the drawn ids where they are (Backend::substitute_sampled_ids);
// async_scheduling_suite.h says what each check asserts.
#include <gtest/gtest.h>

#include "async_scheduling_suite.h"
#include "ops/backend_factory.h"

namespace cascade::test {
namespace {

class CudaAsyncScheduling : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_present()) GTEST_SKIP() << "no CUDA GPU";
  }
};

TEST_F(CudaAsyncScheduling, OutputsEqualWaitingForEachStep) {
  check_async_outputs_equal_waiting("cuda");
}

TEST_F(CudaAsyncScheduling, StopTokenIdsEndOutputsAtTheSameToken) {
  check_async_stop_token_ids("cuda");
}

TEST_F(CudaAsyncScheduling, APoolTooSmallPreemptsAndStillGivesTheSameOutputs) {
  check_async_preemption("cuda");
}

TEST_F(CudaAsyncScheduling, StreamedDeltasAddUpToTheOutputAndAbortsLoseNothingElse) {
  check_async_streaming_and_abort("cuda");
}

}  // namespace
}  // namespace cascade::test

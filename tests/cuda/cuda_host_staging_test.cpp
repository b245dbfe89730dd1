// Backend::write_i32 on CUDA goes through pinned staging (src/ops/cuda/cuda_host_staging.h):
// each write must deliver the values the host held at the call, even when the same host
// vector is refilled at once and writes follow each other with no wait, and when the
// staging buffer grows between them.
#include <cuda_runtime_api.h>

#include <numeric>

#include "cuda_test_util.h"

namespace cascade::test {
namespace {

using CudaHostStagingTest = CudaBackendTest;

TEST_F(CudaHostStagingTest, BackToBackWritesDeliverTheValuesOfTheirCalls) {
  constexpr int kWrites = 12;
  std::vector<Tensor> targets;
  std::vector<std::vector<int32_t>> expected;
  std::vector<int32_t> host;
  for (int w = 0; w < kWrites; ++w) {
    const int64_t n = int64_t{100} << (w / 2);  // 100 .. 6,400 values: the buffer grows
    targets.push_back(gpu->allocate(DType::I32, {n}));
    host.resize(static_cast<size_t>(n));
    std::iota(host.begin(), host.end(), 1000 * w);
    gpu->write_i32(host, targets.back());
    expected.push_back(host);
    std::fill(host.begin(), host.end(), -1);  // the call must have taken its copy already
  }
  gpu->synchronize();
  for (int w = 0; w < kWrites; ++w) {
    std::vector<int32_t> got(expected[static_cast<size_t>(w)].size(), -7);
    ASSERT_EQ(cudaMemcpy(got.data(), targets[static_cast<size_t>(w)].data,
                         got.size() * sizeof(int32_t), cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_EQ(got, expected[static_cast<size_t>(w)]) << "write " << w;
  }
}

}  // namespace
}  // namespace cascade::test

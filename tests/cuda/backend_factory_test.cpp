// Backend selection by name and the KV budget from device memory.
#include <gtest/gtest.h>

#include "base/error.h"
#include "ops/backend_factory.h"

namespace cascade {
namespace {

TEST(BackendFactoryTest, CpuByNameAndAutoFollowsTheGpu) {
  EXPECT_EQ(make_backend("cpu", 1)->name(), "cpu");
  EXPECT_EQ(make_backend("auto", 1)->name(), cuda_device_present() ? "cuda" : "cpu");
  if (cuda_device_present()) {
    EXPECT_EQ(make_backend("cuda")->compute_dtype(), DType::BF16);
  } else {
    EXPECT_THROW(make_backend("cuda"), Error);
  }
}

TEST(BackendFactoryTest, UnknownDeviceNamesTheValue) {
  try {
    make_backend("tpu");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'tpu'"), std::string::npos) << e.what();
  }
}

TEST(BackendFactoryTest, DeviceMemoryOnlyForTheGpu) {
  auto cpu = make_backend("cpu", 1);
  EXPECT_FALSE(device_memory(*cpu).has_value());
  if (!cuda_device_present()) GTEST_SKIP() << "no CUDA GPU";
  auto gpu = make_backend("cuda");
  const auto before = device_memory(*gpu);
  ASSERT_TRUE(before.has_value());
  EXPECT_GT(before->free_bytes, 0);
  EXPECT_LE(before->free_bytes, before->total_bytes);
  Tensor big = gpu->allocate(DType::BF16, {int64_t{1} << 30});  // 2 GiB
  const auto after = device_memory(*gpu);
  EXPECT_LE(after->free_bytes, before->free_bytes - (int64_t{2} << 30) + (int64_t{64} << 20));
}

TEST(BackendFactoryTest, KvBudgetIsUtilizationMinusWhatIsInUse) {
  const DeviceMemory m{60, 100};  // 40 in use
  EXPECT_EQ(kv_cache_budget(m, 0.9), 50);
  EXPECT_EQ(kv_cache_budget(m, 0.3), 0);
  EXPECT_THROW(kv_cache_budget(m, 0.0), Error);
  EXPECT_THROW(kv_cache_budget(m, 1.5), Error);
}

}  // namespace
}  // namespace cascade

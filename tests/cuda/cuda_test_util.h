// Helpers of the CUDA backend tests: a CPU and a CUDA backend side by side (the test is
// skipped without a GPU), random inputs that bf16 represents exactly (so both backends
// see the same numbers), NaN-poisoned outputs, and error measures.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "ops/backend.h"
#include "ops/backend_factory.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::test {

// Normal(mean, stddev) values rounded to bf16, never exactly zero.
inline std::vector<float> random_bf16_values(size_t n, uint32_t seed, float mean = 0.0f,
                                             float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) {
    do {
      x = bf16_to_f32(f32_to_bf16(dist(rng)));
    } while (x == 0.0f);
  }
  return v;
}

inline std::vector<float> nan_values(size_t n) {
  return std::vector<float>(n, NAN);
}

// max |a - b| / max |b|; infinity when a value is not finite or the sizes differ.
// The bit patterns of values (NaN compares equal to the same NaN).
inline std::vector<uint32_t> float_bits(const std::vector<float>& values) {
  std::vector<uint32_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(),
                 [](float v) { return std::bit_cast<uint32_t>(v); });
  return bits;
}

inline double relative_error(const std::vector<float>& a, const std::vector<float>& ref) {
  if (a.size() != ref.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(ref[i])) return INFINITY;
    diff = std::max(diff, std::fabs(double(a[i]) - ref[i]));
    scale = std::max(scale, std::fabs(double(ref[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Largest |a - b| / |b| over elements; infinity for a non-finite value.
inline double max_elementwise_error(const std::vector<float>& a, const std::vector<float>& ref) {
  if (a.size() != ref.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(ref[i])) return INFINITY;
    if (a[i] == ref[i]) continue;
    worst = std::max(worst, std::fabs(double(a[i]) - ref[i]) / std::fabs(double(ref[i])));
  }
  return worst;
}

// One bf16 ulp relative to the value is at most 2^-7 (7 stored mantissa bits): the most
// an fp32 result rounded to bf16 can differ from the same result computed a little
// differently in fp32 and rounded the other way.
inline constexpr double kBf16Ulp = 1.0 / 128;

// One measured error, printed for scripts/gpu-check.sh's summary.
inline void report(const std::string& label, double value) {
  std::cout << "[measure] " << label << ": " << value << std::endl;
}

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_present()) GTEST_SKIP() << "no CUDA GPU";
    cpu = make_backend("cpu", 0);
    gpu = make_backend("cuda");
    // The kernel tests cover the GEMVs at every row count they take (1..kGemvMaxRows), not
    // only up to the default limit; steps past the limit take cuBLASLt, tested from 9 rows.
    cuda::set_gemv_max_rows(cuda::kGemvMaxRows);
  }
  void TearDown() override { cuda::prepare_gemv_rows(); }

  // The same host values on both backends.
  struct Pair {
    Tensor cpu, gpu;
  };
  Pair both(const std::vector<float>& host, Shape shape) {
    return {cpu->upload(host.data(), DType::F32, shape),
            gpu->upload(host.data(), DType::F32, shape)};
  }
  Pair both_i32(const std::vector<int32_t>& host, Shape shape) {
    return {cpu->upload_i32(host.data(), shape), gpu->upload_i32(host.data(), shape)};
  }
  // Outputs: zero on the CPU (its reference), NaN on the GPU, so unwritten values show.
  Pair outputs(Shape shape) {
    const auto poison = nan_values(static_cast<size_t>(shape_numel(shape)));
    return {cpu->allocate(DType::F32, shape), gpu->upload(poison.data(), DType::F32, shape)};
  }
  static std::vector<float> host(Backend& backend, const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    backend.download_f32(t, v.data());
    return v;
  }

  std::unique_ptr<Backend> cpu, gpu;
};

}  // namespace cascade::test

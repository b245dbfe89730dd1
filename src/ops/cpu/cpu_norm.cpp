#include "ops/cpu/cpu_norm.h"

#include <cmath>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"

namespace cascade {

void rms_norm_row(const float* x, const float* weight, int64_t n, float eps, float* out) {
  double sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const auto mean_sq = static_cast<float>(sum_sq / static_cast<double>(n));
  const auto inv_rms = static_cast<float>(1.0 / std::sqrt(static_cast<double>(mean_sq + eps)));
  for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv_rms);
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  check_rms_norm_args(x, weight, out, DType::F32);
  const int64_t rows = x.dim(0), dim = x.dim(1);
  const float* xs = x.as<float>();
  const float* w = weight.as<float>();
  float* o = out.as<float>();
  pool_.parallel_for(rows, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) rms_norm_row(xs + r * dim, w, dim, eps, o + r * dim);
  });
}

}  // namespace cascade

#include <cmath>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"

namespace cascade {

// acc, x: same shape, f32.
void CpuBackend::add_inplace(Tensor& acc, const Tensor& x) {
  check(acc.dtype == DType::F32 && x.dtype == DType::F32 && acc.shape == x.shape,
        "add_inplace: acc " + shape_string(acc.shape) + " and x " + shape_string(x.shape) +
            " must be f32 of the same shape");
  float* a = acc.as<float>();
  const float* b = x.as<float>();
  pool_.parallel_for(acc.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) a[i] += b[i];
  });
}

// gate_up: [rows, 2n] f32 (gate | up); out: [rows, n] f32.
void CpuBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  expect_tensor(gate_up, DType::F32, 2, "silu_mul", "gate_up");
  expect_tensor(out, DType::F32, 2, "silu_mul", "out");
  const int64_t rows = gate_up.dim(0), n = out.dim(1);
  check(out.dim(0) == rows && gate_up.dim(1) == 2 * n,
        "silu_mul: gate_up " + shape_string(gate_up.shape) + " must be out " +
            shape_string(out.shape) + " with twice the columns");
  const float* gu = gate_up.as<float>();
  float* o = out.as<float>();
  pool_.parallel_for(rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* gate = gu + r * 2 * n;
      const float* up = gate + n;
      for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        o[r * n + i] = g / (1.0f + std::exp(-g)) * up[i];
      }
    }
  });
}

}  // namespace cascade

#include <cmath>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"

namespace cascade {

// acc, x: same shape, f32.
void CpuBackend::add_inplace(Tensor& acc, const Tensor& x) {
  check_add_args(acc, x, DType::F32);
  float* a = acc.as<float>();
  const float* b = x.as<float>();
  pool_.parallel_for(acc.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) a[i] += b[i];
  });
}

// gate_up: [rows, 2n] f32 (gate | up); out: [rows, n] f32.
void CpuBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  check_silu_mul_args(gate_up, out, DType::F32);
  const int64_t rows = gate_up.dim(0), n = out.dim(1);
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

#include <cblas.h>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"

namespace cascade {

// Up to this many rows, linear runs as one sgemv per row.
constexpr int64_t kGemvRows = 2;

// x: [rows, in] f32; w: [out, in] f32; bias: [out] f32 or undefined; out: [rows, out] f32.
void CpuBackend::linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) {
  check_linear_args(x, w, bias, out, DType::F32, DType::F32);
  const int64_t rows = x.dim(0), in = x.dim(1), n_out = w.dim(0);
  if (rows == 0) return;
  const auto n = static_cast<int>(n_out), k = static_cast<int>(in);
  if (rows <= kGemvRows) {
    // Few rows (decode): a matrix-vector product per row reads w once per row without
    // packing it first, which is what sgemm would spend its time on.
    for (int64_t r = 0; r < rows; ++r) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w.as<float>(), k, x.as<float>() + r * in,
                  1, 0.0f, out.as<float>() + r * n_out, 1);
    }
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), n, k, 1.0f,
                x.as<float>(), k, w.as<float>(), k, 0.0f, out.as<float>(), n);
  }
  if (!bias.defined()) return;
  const float* b = bias.as<float>();
  float* o = out.as<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n_out; ++i) o[r * n_out + i] += b[i];
  }
}

}  // namespace cascade

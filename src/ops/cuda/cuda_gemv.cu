// Matrix products of steps with few rows (decode): out[r, n] = x[r, :] · w[n, :] (+ bias[n]).
// cuBLASLt's kernels take 5-8 µs on such shapes whatever their size (one split-K GEMV of
// Qwen2.5-0.5B's down projection adds a reduce kernel), while reading the weight once at
// the copy bandwidth takes 0.5-4 µs. One warp per output column streams its weight row in
// 16-byte loads and dots it with every row of x (held in L1, read by every warp of the
// block); fp32 accumulation, a warp reduction, then bias and rounding.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;

__device__ __forceinline__ float dot8(const uint4& a, const uint4& b) {
  const auto* pa = reinterpret_cast<const __nv_bfloat162*>(&a);
  const auto* pb = reinterpret_cast<const __nv_bfloat162*>(&b);
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 fa = __bfloat1622float2(pa[i]), fb = __bfloat1622float2(pb[i]);
    sum = fmaf(fa.x, fb.x, sum);
    sum = fmaf(fa.y, fb.y, sum);
  }
  return sum;
}

// Weights are read once: keep them out of L1 (x stays there).
__device__ __forceinline__ uint4 load_streaming(const bf16* p) {
  return __ldcs(reinterpret_cast<const uint4*>(p));
}

// x: [ROWS, k] bf16; w: [n, k] bf16; bias: [n] bf16 or null; out: [ROWS, n] f32 or bf16.
// k % 8 == 0; x and w 16-byte aligned.
template <int ROWS, bool OUT_F32>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                const bf16* __restrict__ bias, void* __restrict__ out, int64_t n, int64_t k) {
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (col >= n) return;
  const bf16* wrow = w + col * k;
  float acc[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
#pragma unroll 4
  for (int64_t c = lane * 8; c < k; c += 32 * 8) {
    const uint4 wv = load_streaming(wrow + c);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      acc[r] += dot8(wv, *reinterpret_cast<const uint4*>(x + r * k + c));
    }
  }
  const float b = bias ? __bfloat162float(bias[col]) : 0.0f;
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const float v = warp_sum(acc[r]) + b;
    if (lane != 0) continue;
    if constexpr (OUT_F32) {
      static_cast<float*>(out)[r * n + col] = v;
    } else {
      static_cast<bf16*>(out)[r * n + col] = __float2bfloat16(v);
    }
  }
}

template <int ROWS>
void launch(const bf16* x, const bf16* w, const bf16* bias, void* out, bool out_f32, int64_t n,
            int64_t k, cudaStream_t stream) {
  const auto blocks = static_cast<unsigned>((n + kWarps - 1) / kWarps);
  if (out_f32) {
    gemv_kernel<ROWS, true><<<blocks, kThreads, 0, stream>>>(x, w, bias, out, n, k);
  } else {
    gemv_kernel<ROWS, false><<<blocks, kThreads, 0, stream>>>(x, w, bias, out, n, k);
  }
  CASCADE_CUDA_CHECK_LAUNCH("gemv_kernel");
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool gemv_fits(int64_t rows, int64_t k, const void* x, const void* w) {
  return rows >= 1 && rows <= kGemvMaxRows && k % 8 == 0 && aligned_16(x) && aligned_16(w);
}

void gemv(const bf16* x, const bf16* w, const bf16* bias, void* out, bool out_f32, int64_t rows,
          int64_t n, int64_t k, cudaStream_t stream) {
  switch (rows) {
    case 1:
      return launch<1>(x, w, bias, out, out_f32, n, k, stream);
    case 2:
      return launch<2>(x, w, bias, out, out_f32, n, k, stream);
    case 3:
      return launch<3>(x, w, bias, out, out_f32, n, k, stream);
    case 4:
      return launch<4>(x, w, bias, out, out_f32, n, k, stream);
    case 5:
      return launch<5>(x, w, bias, out, out_f32, n, k, stream);
    case 6:
      return launch<6>(x, w, bias, out, out_f32, n, k, stream);
    case 7:
      return launch<7>(x, w, bias, out, out_f32, n, k, stream);
    case 8:
      return launch<8>(x, w, bias, out, out_f32, n, k, stream);
    default:
      throw Error("gemv: " + std::to_string(rows) + " rows (1 to 8 are supported)");
  }
}

}  // namespace cascade::cuda

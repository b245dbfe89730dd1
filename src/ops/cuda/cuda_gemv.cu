// Matrix products of steps with few rows (decode): out[r, n] = x[r, :] · w[n, :] (+ bias[n]).
// cuBLASLt's kernels take 5-8 µs on such shapes whatever their size (one split-K GEMV of
// Qwen2.5-0.5B's down projection adds a reduce kernel), while reading the weight once at
// the copy bandwidth takes 0.5-4 µs: what counts is how many loads every SM keeps in
// flight. A block of 8 warps takes 8 / S columns; each column's k is cut into S slices of
// at most 1,024 elements (S = 1, 2, 4 or 8), one warp a slice, and each lane issues all its
// 16-byte weight loads (up to 4) before it uses any. x (a few rows) is read through L1 by
// every warp. fp32 accumulation; the S partial sums of a column are added in slice order
// through shared memory (the same order every run), then the bias and the rounding.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kLoadsPerLane = 4;
constexpr int kSliceElements = 32 * 8 * kLoadsPerLane;  // one warp's share of a column
constexpr int kMaxSlices = kWarps;

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

// Asks L2 for this lane's share of the slice of row `wrow` starting at `begin` (one
// 128-byte line per 8 lanes), holding no registers: with programmatic dependent launch the
// weights then stream in while the kernel before this one finishes.
__device__ __forceinline__ void prefetch_slice(const bf16* wrow, int64_t k, int64_t begin,
                                               int lane) {
  if (lane % 8 != 0) return;
#pragma unroll
  for (int i = 0; i < kLoadsPerLane; ++i) {
    const int64_t c = begin + (i * 32 + lane) * 8;
    if (c < k) asm volatile("prefetch.global.L2 [%0];\n" ::"l"(wrow + c));
  }
}

// What a GEMV writes: out = x·wᵀ (+ bias) as bf16 or f32; or, for an MLP's fused gate/up
// weight [2n, k], out[r, c] = silu(g) · u with g and u the bf16-rounded outputs c and
// n + c, exactly as the separate linear and silu_mul kernels compute it.
enum class GemvOut { kBf16, kF32, kSiluMul };

// acc[r] += x[r, slice] · wrow[slice] for this lane's part of the slice starting at
// `begin`, with every weight load issued before any use.
template <int ROWS>
__device__ __forceinline__ void slice_dot(const bf16* __restrict__ x, const bf16* __restrict__ wrow,
                                          int64_t k, int64_t begin, int lane, float (&acc)[ROWS]) {
  uint4 wv[kLoadsPerLane];
#pragma unroll
  for (int i = 0; i < kLoadsPerLane; ++i) {
    const int64_t c = begin + (i * 32 + lane) * 8;
    wv[i] = c < k ? load_streaming(wrow + c) : make_uint4(0, 0, 0, 0);
  }
#pragma unroll
  for (int i = 0; i < kLoadsPerLane; ++i) {
    const int64_t c = begin + (i * 32 + lane) * 8;
    if (c >= k) break;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      acc[r] += dot8(wv[i], *reinterpret_cast<const uint4*>(x + r * k + c));
    }
  }
}

// x: [ROWS, k] bf16; w: [n, k] bf16 ([2n, k] for kSiluMul); bias: [n] bf16 or null (not
// with kSiluMul); out: [ROWS, n] f32 (kF32) or bf16. k % 8 == 0, k <= SLICES *
// kSliceElements; x and w 16-byte aligned. PREFETCH: launched with programmatic dependent
// launch (no kernel writes weights, so they may be asked for before the wait); a template
// argument so that the kernels without it stay as they were.
template <int ROWS, int SLICES, GemvOut OUT, bool PREFETCH>
__global__ void __launch_bounds__(kThreads)
    gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                const bf16* __restrict__ bias, void* __restrict__ out, int64_t n, int64_t k) {
  constexpr int kColumns = kWarps / SLICES;
  constexpr int kParts = OUT == GemvOut::kSiluMul ? 2 : 1;  // gate and up
  __shared__ float partial[kParts][kWarps][ROWS];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slice = warp % SLICES;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kColumns + warp / SLICES;
  if (PREFETCH && col < n) {
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
      prefetch_slice(w + (part * n + col) * k, k, slice * int64_t{kSliceElements}, lane);
    }
  }
  wait_prior_grids();
#pragma unroll
  for (int part = 0; part < kParts; ++part) {
    float acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
    if (col < n)
      slice_dot<ROWS>(x, w + (part * n + col) * k, k, slice * int64_t{kSliceElements}, lane, acc);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const float v = warp_sum(acc[r]);
      if (lane == 0) partial[part][warp][r] = v;
    }
  }
  __syncthreads();
  // Lane r of a column's first warp finishes row r.
  if (slice != 0 || lane >= ROWS || col >= n) return;
  float v = 0.0f;
  for (int s = 0; s < SLICES; ++s) v += partial[0][warp + s][lane];
  if constexpr (OUT == GemvOut::kSiluMul) {
    float u = 0.0f;
    for (int s = 0; s < SLICES; ++s) u += partial[kParts - 1][warp + s][lane];
    const float g = __bfloat162float(__float2bfloat16(v));
    u = __bfloat162float(__float2bfloat16(u));
    static_cast<bf16*>(out)[lane * n + col] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
    return;
  }
  if (bias) v += __bfloat162float(bias[col]);
  if constexpr (OUT == GemvOut::kF32) {
    static_cast<float*>(out)[lane * n + col] = v;
  } else {
    static_cast<bf16*>(out)[lane * n + col] = __float2bfloat16(v);
  }
}

template <int ROWS, int SLICES>
void launch_sliced(const bf16* x, const bf16* w, const bf16* bias, void* out, GemvOut what,
                   int64_t n, int64_t k, cudaStream_t stream) {
  constexpr int kColumns = kWarps / SLICES;
  const auto blocks = static_cast<unsigned>((n + kColumns - 1) / kColumns);
  const bool prefetch = programmatic_launch_enabled();
  switch (what) {
    case GemvOut::kBf16:
      launch("gemv_kernel",
             prefetch ? gemv_kernel<ROWS, SLICES, GemvOut::kBf16, true>
                      : gemv_kernel<ROWS, SLICES, GemvOut::kBf16, false>,
             blocks, kThreads, 0, stream, x, w, bias, out, n, k);
      break;
    case GemvOut::kF32:
      launch("gemv_kernel",
             prefetch ? gemv_kernel<ROWS, SLICES, GemvOut::kF32, true>
                      : gemv_kernel<ROWS, SLICES, GemvOut::kF32, false>,
             blocks, kThreads, 0, stream, x, w, bias, out, n, k);
      break;
    case GemvOut::kSiluMul:
      launch("gemv_kernel",
             prefetch ? gemv_kernel<ROWS, SLICES, GemvOut::kSiluMul, true>
                      : gemv_kernel<ROWS, SLICES, GemvOut::kSiluMul, false>,
             blocks, kThreads, 0, stream, x, w, bias, out, n, k);
      break;
  }
  CASCADE_CUDA_CHECK_LAUNCH("gemv_kernel");
}

template <int ROWS>
void launch(const bf16* x, const bf16* w, const bf16* bias, void* out, GemvOut what, int64_t n,
            int64_t k, cudaStream_t stream) {
  const int64_t slices = (k + kSliceElements - 1) / kSliceElements;
  if (slices <= 1) return launch_sliced<ROWS, 1>(x, w, bias, out, what, n, k, stream);
  if (slices <= 2) return launch_sliced<ROWS, 2>(x, w, bias, out, what, n, k, stream);
  if (slices <= 4) return launch_sliced<ROWS, 4>(x, w, bias, out, what, n, k, stream);
  launch_sliced<ROWS, kMaxSlices>(x, w, bias, out, what, n, k, stream);
}

void dispatch(const bf16* x, const bf16* w, const bf16* bias, void* out, GemvOut what, int64_t rows,
              int64_t n, int64_t k, cudaStream_t stream) {
  switch (rows) {
    case 1:
      return launch<1>(x, w, bias, out, what, n, k, stream);
    case 2:
      return launch<2>(x, w, bias, out, what, n, k, stream);
    case 3:
      return launch<3>(x, w, bias, out, what, n, k, stream);
    case 4:
      return launch<4>(x, w, bias, out, what, n, k, stream);
    case 5:
      return launch<5>(x, w, bias, out, what, n, k, stream);
    case 6:
      return launch<6>(x, w, bias, out, what, n, k, stream);
    case 7:
      return launch<7>(x, w, bias, out, what, n, k, stream);
    case 8:
      return launch<8>(x, w, bias, out, what, n, k, stream);
    default:
      throw Error("gemv: " + std::to_string(rows) + " rows (1 to 8 are supported)");
  }
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool gemv_fits(int64_t rows, int64_t k, const void* x, const void* w) {
  return rows >= 1 && rows <= kGemvMaxRows && k % 8 == 0 && k <= kMaxSlices * kSliceElements &&
         aligned_16(x) && aligned_16(w);
}

void gemv(const bf16* x, const bf16* w, const bf16* bias, void* out, bool out_f32, int64_t rows,
          int64_t n, int64_t k, cudaStream_t stream) {
  dispatch(x, w, bias, out, out_f32 ? GemvOut::kF32 : GemvOut::kBf16, rows, n, k, stream);
}

void gemv_silu_mul(const bf16* x, const bf16* w_gate_up, bf16* out, int64_t rows, int64_t n,
                   int64_t k, cudaStream_t stream) {
  dispatch(x, w_gate_up, nullptr, out, GemvOut::kSiluMul, rows, n, k, stream);
}

}  // namespace cascade::cuda

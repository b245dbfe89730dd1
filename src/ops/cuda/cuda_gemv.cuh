// What the decode GEMV (cuda_gemv.cu) and the decode MLP kernel (cuda_decode_mlp.cu) share,
// so that the MLP kernel gives the GEMVs' bits: how a column's k is cut into warp slices,
// the order of a slice's products, and the RMSNorm of a block's input rows.
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_rms_norm.cuh"

namespace cascade::cuda {

inline constexpr int kGemvWarps = 8;
inline constexpr int kGemvThreads = kGemvWarps * 32;
static_assert(kGemvThreads == kNormThreads, "the fused norm reduces like rms_norm's blocks");
inline constexpr int kGemvLoadsPerLane = 4;
// One warp's share of a column: each lane's kGemvLoadsPerLane pieces of 8 elements.
inline constexpr int kGemvSliceElements = 32 * 8 * kGemvLoadsPerLane;
inline constexpr int kGemvMaxSlices = kGemvWarps;

// Slices per column for k elements: 1, 2, 4 or 8 (a block of 8 warps holds 8 / slices
// whole columns); more than kGemvMaxSlices where k is too long for the GEMV. The partial
// sums of all of them (empty ones add +0) are added in slice order.
__host__ __device__ constexpr int gemv_slices(int64_t k) {
  const int64_t needed = (k + kGemvSliceElements - 1) / kGemvSliceElements;
  if (needed <= 1) return 1;
  if (needed <= 2) return 2;
  if (needed <= 4) return 4;
  return needed <= kGemvMaxSlices ? kGemvMaxSlices : static_cast<int>(needed);
}

// Σ a[i]·b[i] over 8 bf16 pairs, one fused multiply-add at a time from 0.
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

// The element of the slice starting at `begin` that piece i of `lane` starts at.
__device__ __forceinline__ int64_t slice_piece(int64_t begin, int i, int lane) {
  return begin + (i * 32 + lane) * 8;
}

// dst[r, :] = rms_norm(x[r, :]) · weight for the block's ROWS rows of k elements, with
// rms_norm_kernel's arithmetic (its sums by the block's first kNormThreads threads); then a
// barrier, so that every warp may read dst. Every thread of the block calls it.
template <int ROWS>
__device__ __forceinline__ void normalize_rows(const bf16* __restrict__ x,
                                               const bf16* __restrict__ weight, float eps,
                                               int64_t k, bf16* dst) {
  __shared__ float warp_sums[ROWS][kNormThreads / 32];
  float sum_sq[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < k && threadIdx.x < kNormThreads; i += kNormThreads) {
      const float v = __bfloat162float(x[r * k + i]);
      s += v * v;
    }
    sum_sq[r] = s;
  }
  float inv[ROWS];
  block_inv_rms<ROWS>(sum_sq, k, eps, warp_sums, inv);
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) {
      dst[r * k + i] = rms_normed(__bfloat162float(x[r * k + i]), weight[i], inv[r]);
    }
  }
  __syncthreads();
}

}  // namespace cascade::cuda

// The block reduction of RMSNorm, shared by the norm kernels and the GEMV that normalizes
// its input rows itself, so that a fused norm gives the bits of rms_norm.
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_device_math.cuh"

namespace cascade::cuda {

// Every RMSNorm block has this many threads; thread t sums the squares of elements t,
// t + kNormThreads, ... of a row, in that order.
inline constexpr int kNormThreads = 256;

// inv[r] = 1 / sqrt(mean of squares + eps) of ROWS rows of `dim` elements, from each
// thread's partial sums of squares; every thread gets them. warp_sums: [ROWS][warps] in
// shared memory. The warps' sums are added in warp order, the same in every caller. Larger
// blocks call it with every thread; those past kNormThreads add nothing.
template <int ROWS>
__device__ __forceinline__ void block_inv_rms(const float (&sum_sq)[ROWS], int64_t dim, float eps,
                                              float (*warp_sums)[kNormThreads / 32],
                                              float (&inv)[ROWS]) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const float s = warp_sum(sum_sq[r]);
    if (threadIdx.x % 32 == 0 && threadIdx.x < kNormThreads) warp_sums[r][threadIdx.x / 32] = s;
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kNormThreads / 32; ++w) total += warp_sums[r][w];
    inv[r] = rsqrtf(total / static_cast<float>(dim) + eps);
  }
}

// One normalized element: weight · (x · inv_rms), rounded to bf16.
__device__ __forceinline__ __nv_bfloat16 rms_normed(float x, __nv_bfloat16 weight, float inv_rms) {
  return __float2bfloat16(__bfloat162float(weight) * (x * inv_rms));
}

}  // namespace cascade::cuda

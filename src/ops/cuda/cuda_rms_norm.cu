// RMSNorm over the last dimension, one block per row, fp32 sum of squares.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 256;

// x, out: [rows, dim] bf16; weight: [dim] bf16. out may alias x.
__global__ void rms_norm_kernel(const bf16* x, const bf16* weight, int64_t dim, float eps,
                                bf16* out) {
  __shared__ float warp_sums[kThreads / 32];
  const bf16* row = x + blockIdx.x * dim;
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    const float v = __bfloat162float(row[i]);
    sum_sq += v * v;
  }
  sum_sq = warp_sum(sum_sq);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum_sq;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  const float inv_rms = rsqrtf(total / static_cast<float>(dim) + eps);
  bf16* dst = out + blockIdx.x * dim;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    dst[i] = __float2bfloat16(__bfloat162float(weight[i]) * (__bfloat162float(row[i]) * inv_rms));
  }
}

}  // namespace

void rms_norm(const bf16* x, const bf16* weight, int64_t rows, int64_t dim, float eps, bf16* out,
              cudaStream_t stream) {
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, weight, dim, eps, out);
  CASCADE_CUDA_CHECK_LAUNCH("rms_norm_kernel");
}

}  // namespace cascade::cuda

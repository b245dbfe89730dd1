// RMSNorm over the last dimension, one block per row, fp32 sum of squares; and the same
// fused with the residual add that precedes it in every layer.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_rms_norm.cuh"

namespace cascade::cuda {
namespace {

constexpr int kThreads = kNormThreads;

// 1 / sqrt(mean + eps) of the row from each thread's partial sum of squares; every thread
// of the block gets it.
__device__ float inv_rms_of(float sum_sq, int64_t dim, float eps) {
  __shared__ float warp_sums[1][kThreads / 32];
  const float sums[1] = {sum_sq};
  float inv[1];
  block_inv_rms<1>(sums, dim, eps, warp_sums, inv);
  return inv[0];
}

// x, out: [rows, dim] bf16; weight: [dim] bf16. out may alias x.
__global__ void rms_norm_kernel(const bf16* x, const bf16* weight, int64_t dim, float eps,
                                bf16* out) {
  wait_prior_grids();
  const bf16* row = x + blockIdx.x * dim;
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    const float v = __bfloat162float(row[i]);
    sum_sq += v * v;
  }
  const float inv_rms = inv_rms_of(sum_sq, dim, eps);
  bf16* dst = out + blockIdx.x * dim;
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    dst[i] = rms_normed(__bfloat162float(row[i]), weight[i], inv_rms);
  }
}

// residual += x (rounded to bf16 as add_inplace does), then out = rms_norm(residual) with
// the rounded sum, so the result equals the two ops run one after the other. residual, x,
// out: [rows, dim] bf16 (out may alias x, not residual); weight: [dim] bf16. Where dim <=
// kThreads · kMaxPerThread a thread loads all its elements of both rows before it stores
// any, so the loads take one round of memory latency instead of one per element (a load
// of x may not move above a store to residual that could alias it); longer rows are
// re-read.
constexpr int kMaxPerThread = 8;

__global__ void add_rms_norm_kernel(bf16* residual, const bf16* x, const bf16* weight, int64_t dim,
                                    float eps, bf16* out) {
  wait_prior_grids();
  bf16* row = residual + blockIdx.x * dim;
  const bf16* add = x + blockIdx.x * dim;
  bf16* dst = out + blockIdx.x * dim;
  float sum_sq = 0.0f;
  if (dim <= int64_t{kThreads} * kMaxPerThread) {
    float kept[kMaxPerThread];
    bf16 w[kMaxPerThread];
#pragma unroll
    for (int k = 0; k < kMaxPerThread; ++k) {
      const int64_t i = threadIdx.x + int64_t{k} * kThreads;
      if (i < dim) {
        kept[k] = __bfloat162float(row[i]) + __bfloat162float(add[i]);
        w[k] = weight[i];
      }
    }
#pragma unroll
    for (int k = 0; k < kMaxPerThread; ++k) {
      const int64_t i = threadIdx.x + int64_t{k} * kThreads;
      if (i < dim) {
        const bf16 sum = __float2bfloat16(kept[k]);
        row[i] = sum;
        kept[k] = __bfloat162float(sum);
        sum_sq += kept[k] * kept[k];
      }
    }
    const float inv_rms = inv_rms_of(sum_sq, dim, eps);
#pragma unroll
    for (int k = 0; k < kMaxPerThread; ++k) {
      const int64_t i = threadIdx.x + int64_t{k} * kThreads;
      if (i < dim) dst[i] = rms_normed(kept[k], w[k], inv_rms);
    }
    return;
  }
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    const bf16 sum = __float2bfloat16(__bfloat162float(row[i]) + __bfloat162float(add[i]));
    row[i] = sum;
    const float v = __bfloat162float(sum);
    sum_sq += v * v;
  }
  const float inv_rms = inv_rms_of(sum_sq, dim, eps);
  for (int64_t i = threadIdx.x; i < dim; i += kThreads) {
    dst[i] = rms_normed(__bfloat162float(row[i]), weight[i], inv_rms);
  }
}

}  // namespace

void add_rms_norm(bf16* residual, const bf16* x, const bf16* weight, int64_t rows, int64_t dim,
                  float eps, bf16* out, cudaStream_t stream) {
  if (rows == 0) return;
  launch("add_rms_norm_kernel", add_rms_norm_kernel, static_cast<unsigned>(rows), kThreads, 0,
         stream, residual, x, weight, dim, eps, out);
}

void rms_norm(const bf16* x, const bf16* weight, int64_t rows, int64_t dim, float eps, bf16* out,
              cudaStream_t stream) {
  if (rows == 0) return;
  launch("rms_norm_kernel", rms_norm_kernel, static_cast<unsigned>(rows), kThreads, 0, stream, x,
         weight, dim, eps, out);
}

}  // namespace cascade::cuda

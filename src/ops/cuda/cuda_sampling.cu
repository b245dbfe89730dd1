// Token sampling on the device for the rows the host sampler would treat simply: greedy
// (argmax) and plain temperature sampling over the whole vocabulary. The arithmetic follows
// the host sampler (src/engine/sampler.cpp) step by step, so a row gives the same token:
// argmax with ties to the lowest id; weights expf((logit - max) / temperature) in f32;
// masses of blocks of 128 tokens summed in 8 f64 lanes; the inverse CDF walks blocks then
// tokens in id order and returns the first drawable token whose running weight exceeds
// u · total. Only expf may differ from the host's by an ulp.
#include <cfloat>
#include <climits>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kBlock = 128;  // the host sampler's kBlock
constexpr int kLanes = 8;    // the host sampler's kLanes

struct Best {
  float value;
  int id;
};

// Ranks ahead: higher logit, then lower id.
__device__ __forceinline__ Best better(Best a, Best b) {
  return (b.value > a.value || (b.value == a.value && b.id < a.id)) ? b : a;
}

__device__ __forceinline__ float weight_of(float logit, float max_logit, float temperature) {
  return expf((logit - max_logit) / temperature);
}

// The block's mass as the host's sum_weights: 8 lanes over whole groups, then the tail,
// then the lanes in order.
__device__ double block_mass_of(const float* logits, int begin, int end, float max_logit,
                                float temperature) {
  double lane[kLanes] = {};
  int i = begin;
  for (; i + kLanes <= end; i += kLanes) {
#pragma unroll
    for (int j = 0; j < kLanes; ++j) lane[j] += weight_of(logits[i + j], max_logit, temperature);
  }
  double sum = 0;
  for (; i < end; ++i) sum += weight_of(logits[i], max_logit, temperature);
#pragma unroll
  for (int j = 0; j < kLanes; ++j) sum += lane[j];
  return sum;
}

// The host's walk(): first drawable token of [begin, end) whose running weight exceeds
// target; the last drawable one when rounding keeps it from getting there.
__device__ int walk(const float* logits, int begin, int end, double running, double target,
                    float max_logit, float temperature) {
  int last_drawable = begin;
  for (int i = begin; i < end; ++i) {
    const float w = weight_of(logits[i], max_logit, temperature);
    if (!(w > 0)) continue;
    running += w;
    last_drawable = i;
    if (running > target) break;
  }
  return last_drawable;
}

// One block per row. logits: [rows, stride] f32 of which columns [0, vocab) count (the
// rest are as if -inf); temperature: [rows] f32 (<= 0: greedy); uniform: [rows] f64 in
// [0, 1); block_mass: [rows, ceil(vocab / 128)] f64 scratch; out: [rows] i32, -1 when a
// counted logit is NaN or +inf or every one is -inf.
__global__ void sample_rows_kernel(const float* logits, int stride, int vocab,
                                   const float* temperature, const double* uniform,
                                   double* block_mass, int32_t* out) {
  __shared__ Best warp_best[kThreads / 32];
  __shared__ Best row_best;
  const int row = blockIdx.x;
  const float* l = logits + static_cast<int64_t>(row) * stride;

  Best best{-INFINITY, INT_MAX};
  int bad = 0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    const float v = l[i];
    bad |= !(v < INFINITY);
    best = better(best, Best{v, i});
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset),
                     __shfl_xor_sync(0xffffffffu, best.id, offset)};
    best = better(best, other);
  }
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  bad = __syncthreads_or(bad);
  if (threadIdx.x == 0) {
    Best b = warp_best[0];
    for (int w = 1; w < kThreads / 32; ++w) b = better(b, warp_best[w]);
    row_best = b;
  }
  __syncthreads();
  const Best top = row_best;
  if (bad || !(top.value > -INFINITY)) {
    if (threadIdx.x == 0) out[row] = -1;
    return;
  }
  const float t = temperature[row];
  if (!(t > 0)) {
    if (threadIdx.x == 0) out[row] = top.id;
    return;
  }

  const int blocks = (vocab + kBlock - 1) / kBlock;
  double* mass = block_mass + static_cast<int64_t>(row) * blocks;
  for (int b = threadIdx.x; b < blocks; b += kThreads) {
    mass[b] = block_mass_of(l, b * kBlock, min((b + 1) * kBlock, vocab), top.value, t);
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0;
  for (int b = 0; b < blocks; ++b) total += mass[b];
  const double target = uniform[row] * total;
  double running = 0;
  int last_massive = 0;
  for (int b = 0; b < blocks; ++b) {
    if (!(mass[b] > 0)) continue;
    last_massive = b;
    if (running + mass[b] > target) {
      out[row] = walk(l, b * kBlock, min((b + 1) * kBlock, vocab), running, target, top.value, t);
      return;
    }
    running += mass[b];
  }
  out[row] = walk(l, last_massive * kBlock, min((last_massive + 1) * kBlock, vocab), 0, INFINITY,
                  top.value, t);
}

}  // namespace

int64_t sample_rows_scratch_bytes(int64_t rows, int64_t vocab) {
  return rows * ((vocab + kBlock - 1) / kBlock) * static_cast<int64_t>(sizeof(double));
}

void sample_rows(const float* logits, int64_t rows, int64_t stride, int64_t vocab,
                 const float* temperature, const double* uniform, double* block_mass,
                 int32_t* out, cudaStream_t stream) {
  if (rows == 0) return;
  sample_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
      logits, static_cast<int>(stride), static_cast<int>(vocab), temperature, uniform,
      block_mass, out);
  CASCADE_CUDA_CHECK_LAUNCH("sample_rows_kernel");
}

}  // namespace cascade::cuda

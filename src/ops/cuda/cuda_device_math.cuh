// Small device helpers shared by the kernels: warp reductions, exp2, RoPE angles,
// asynchronous copies into shared memory.
#pragma once

#include <cuda_bf16.h>

namespace cascade::cuda {

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  }
  return x;
}

// 2^x with the hardware approximation (relative error ~2^-22); 2^-inf = 0.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// cos and sin of the RoPE angle position · inv_freq, with the CPU backend's numerics: the
// angle is a float product, its cos and sin are taken in double and rounded.
__device__ __forceinline__ void rope_cos_sin(int position, float inv_freq, float* c, float* s) {
  const float angle = __fmul_rn(static_cast<float>(position), inv_freq);
  double sd, cd;
  sincos(static_cast<double>(angle), &sd, &cd);
  *c = static_cast<float>(cd);
  *s = static_cast<float>(sd);
}

// One rotate-half pair (x, y) = (v[i], v[i + d/2]) turned by the angle with cosine c and
// sine s: (x·c − y·s, y·c + x·s), each with one fused multiply-add in this order, so that
// kernels that rotate the same pair give the same bits.
__device__ __forceinline__ float2 rope_rotate(float x, float y, float c, float s) {
  return make_float2(fmaf(x, c, -(y * s)), fmaf(y, c, x * s));
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared without passing through registers; `bytes` 0 writes zeros.
__device__ __forceinline__ void copy_16_async(void* dst, const void* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)),
               "l"(src), "r"(bytes));
}

// Waits for this thread's copy_16_async calls; a barrier then publishes them.
__device__ __forceinline__ void copies_wait_all() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::);
}

// Closes this thread's group of copy_16_async calls issued since the last group.
__device__ __forceinline__ void copies_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}

// Waits until at most PENDING of this thread's committed groups are still in flight; a
// barrier then publishes the finished ones.
template <int PENDING>
__device__ __forceinline__ void copies_wait_pending() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING));
}

}  // namespace cascade::cuda

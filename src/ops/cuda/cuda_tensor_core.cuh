// Fragments of the tensor-core attention kernels (cuda_attention_mma.cu, and the wgmma
// kernel's register A operands, which share mma.sync's A layout): loads from shared memory,
// one m16n8k16 MMA, bf16 packing.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "ops/cuda/cuda_device_math.cuh"

namespace cascade::cuda {

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

// Zeros into accumulator tiles of 4 f32 per thread (an MMA's C fragments: attention's S
// before its scores and O before the first block, a GEMM's partial sums).
template <int TILES>
__device__ __forceinline__ void zero_tiles(float (&x)[TILES][4]) {
#pragma unroll
  for (int i = 0; i < TILES; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) x[i][e] = 0.0f;
  }
}

// c += a · b for one m16n8k16 tile.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

}  // namespace cascade::cuda

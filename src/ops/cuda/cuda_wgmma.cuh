// Hopper's warpgroup MMA (wgmma, sm_90a) as the attention kernels use it: shared-memory
// descriptors for the 128-byte swizzled layout, the fence / commit / wait protocol, and
// m64n64k16 / m64n128k16 (f32 += bf16 · bf16) with A in registers and B in shared memory,
// or both in shared memory (the skinny GEMM's copy-engine kernel).
// Device code for sm_90a builds only (__CUDA_ARCH_FEAT_SM90_ALL).
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_device_math.cuh"

namespace cascade::cuda {

// Byte offset of 16-byte piece `piece` of row j in an operand of ROWS rows in the 128-byte
// swizzled layout: bands of 64 bf16 (ROWS × 128 bytes each), the 16-byte piece c of row j
// stored at c ^ (j % 8) within its 128-byte row.
template <int ROWS>
__device__ __forceinline__ int swizzled_offset(int j, int piece) {
  return (piece / 8) * (ROWS * 128) + j * 128 + (((piece % 8) ^ (j % 8)) << 4);
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// A shared-memory matrix descriptor in the 128-byte swizzled layout: leading_bytes, the
// step between bands of 64 elements along the contiguous dimension (unused for K-major
// operands that fit a band), stride_bytes between groups of 8 rows.
__device__ __forceinline__ uint64_t swizzled_desc(const void* p, uint32_t leading_bytes,
                                                  uint32_t stride_bytes) {
  const uint32_t addr = shared_address(p);
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) |
         (static_cast<uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<uint64_t>(stride_bytes >> 4) << 32) | (uint64_t{1} << 62);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most PENDING of this warpgroup's committed groups are unfinished
// (groups finish in the order they were committed).
template <int PENDING>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(PENDING) : "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  wgmma_wait<0>();
}
// Values the asynchronous MMAs write are neither read nor moved across this point.
template <int N>
__device__ __forceinline__ void fence_registers(float (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(r[i][e])::"memory");
  }
}
template <int N>
__device__ __forceinline__ void fence_registers(uint32_t (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(r[i][e])::"memory");
  }
}
// Thread writes to shared memory (cp.async's included) become visible to wgmma's reads.
__device__ __forceinline__ void fence_shared_for_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// The accumulator operands of a wgmma of N = 64 or 128 columns: the braced register list
// of the instruction, and the asm outputs d[N / 8][4] bound to it (operands 0 onwards).
#define CASCADE_WGMMA_N64_D                                                                     \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define CASCADE_WGMMA_N128_D                                                                    \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "  \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "  \
  "%56, %57, %58, %59, %60, %61, %62, %63}"
#define CASCADE_WGMMA_N64_ACCUMULATORS(d)                                                       \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),     \
      "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
      "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), \
      "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
      "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), \
      "+f"(d[7][2]), "+f"(d[7][3])
#define CASCADE_WGMMA_N128_ACCUMULATORS(d)                                                        \
  CASCADE_WGMMA_N64_ACCUMULATORS(d), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]),  \
      "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), \
      "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]),             \
      "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]),             \
      "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]),             \
      "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]),             \
      "+f"(d[15][2]), "+f"(d[15][3])

// d += a · b, wgmma m64n64k16 (f32 += bf16 · bf16): a in registers, b in shared memory.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n64k16(float (&d)[8][4], const uint32_t (&a)[4],
                                                uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " CASCADE_WGMMA_N64_D
      ", {%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : CASCADE_WGMMA_N64_ACCUMULATORS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(1), "n"(TRANS_B));
}

// d += a · b, wgmma m64n128k16 (f32 += bf16 · bf16): a in registers, b in shared memory.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[16][4], const uint32_t (&a)[4],
                                                 uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " CASCADE_WGMMA_N128_D
      ", {%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
      : CASCADE_WGMMA_N128_ACCUMULATORS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(1), "n"(TRANS_B));
}

// d += a · b over N columns: wgmma m64n64k16 or m64n128k16.
template <int TRANS_B, int N>
__device__ __forceinline__ void wgmma_m64k16(float (&d)[N / 8][4], const uint32_t (&a)[4],
                                             uint64_t b_desc) {
  static_assert(N == 64 || N == 128, "wgmma N of 64 or 128");
  if constexpr (N == 128) {
    wgmma_m64n128k16<TRANS_B>(d, a, b_desc);
  } else {
    wgmma_m64n64k16<TRANS_B>(d, a, b_desc);
  }
}

// d += a · b, wgmma m64n64k16 (f32 += bf16 · bf16): a and b in shared memory, both K-major.
__device__ __forceinline__ void wgmma_ss_m64n64k16(float (&d)[8][4], uint64_t a_desc,
                                                   uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 " CASCADE_WGMMA_N64_D
      ", %32, %33, p, 1, 1, 0, 0;\n}\n"
      : CASCADE_WGMMA_N64_ACCUMULATORS(d)
      : "l"(a_desc), "l"(b_desc), "r"(1));
}

// d += a · b, wgmma m64n128k16 (f32 += bf16 · bf16): a and b in shared memory, both K-major.
__device__ __forceinline__ void wgmma_ss_m64n128k16(float (&d)[16][4], uint64_t a_desc,
                                                    uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " CASCADE_WGMMA_N128_D
      ", %64, %65, p, 1, 1, 0, 0;\n}\n"
      : CASCADE_WGMMA_N128_ACCUMULATORS(d)
      : "l"(a_desc), "l"(b_desc), "r"(1));
}

// d += a · b over N columns, a and b in shared memory: wgmma m64n64k16 or m64n128k16.
template <int N>
__device__ __forceinline__ void wgmma_ss_m64k16(float (&d)[N / 8][4], uint64_t a_desc,
                                                uint64_t b_desc) {
  static_assert(N == 64 || N == 128, "wgmma N of 64 or 128");
  if constexpr (N == 128) {
    wgmma_ss_m64n128k16(d, a_desc, b_desc);
  } else {
    wgmma_ss_m64n64k16(d, a_desc, b_desc);
  }
}

#undef CASCADE_WGMMA_N64_D
#undef CASCADE_WGMMA_N128_D
#undef CASCADE_WGMMA_N64_ACCUMULATORS
#undef CASCADE_WGMMA_N128_ACCUMULATORS

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace cascade::cuda

// What the wgmma attention kernels (cuda_attention_wgmma.cu, cuda_attention_wgmma_ws.cu)
// share: KV operands in shared memory in the 128-byte swizzled layout wgmma reads (bands of
// 64 elements: 64 rows × 128 bytes, 1024-byte aligned; the 16-byte piece c of row j stored
// at c ^ (j % 8): swizzled_offset, cuda_wgmma.cuh), S = Q·Kᵀ and O += P·V issued on them,
// and a workaround for ptxas.
// Device code for sm_90a builds only.
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_attention_tile.cuh"
#include "ops/cuda/cuda_wgmma.cuh"

namespace cascade::cuda {

inline constexpr int kWgmmaBandBytes = kTileTokens * 128;  // 64 rows of 64 bf16

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// ptxas (CUDA 13.0) does not count a wgmma's reads of register A operands carried around a
// loop: at head_dim 64 it gave q's registers to P inside the KV loop, so every block after
// the first multiplied by P (measured: errors of 40-700 %). An ordinary read of q after the
// loop, on a branch that is never taken, keeps q's registers live through the loop.
template <int N>
__device__ __forceinline__ void keep_live_through_loop(const uint32_t (&r)[N][4], bool never,
                                                       float* sink) {
  if (!never) return;
  uint32_t x = 0;
#pragma unroll
  for (int i = 0; i < N; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) x ^= r[i][e];
  }
  *reinterpret_cast<volatile uint32_t*>(sink) = x;
}

// Issues S = Q · Kᵀ for one block of TOKENS keys (not committed), both K-major: a k-step of
// 16 elements is 32 bytes along a 128-byte row. The caller has fenced.
template <int D, int TOKENS = kTileTokens>
__device__ __forceinline__ void issue_scores(float (&s)[TOKENS / 8][4],
                                             const uint32_t (&q)[D / 16][4],
                                             const unsigned char* k_stage) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    wgmma_m64k16<0, TOKENS>(
        s, q[kk], swizzled_desc(k_stage + (kk / 4) * (TOKENS * 128) + (kk % 4) * 32, 16, 1024));
  }
}

// Issues O += P · V for one block of TOKENS keys (not committed), V N-major: a k-step of 16
// tokens is 16 rows of 128 bytes; the next band of 64 dims is TOKENS × 128 bytes further.
// The caller has fenced.
template <int D, int TOKENS = kTileTokens>
__device__ __forceinline__ void issue_pv(float (&o)[D / 8][4], const uint32_t (&p)[TOKENS / 16][4],
                                         const unsigned char* v_stage) {
#pragma unroll
  for (int ks = 0; ks < TOKENS / 16; ++ks) {
    wgmma_m64k16<1, D>(o, p[ks], swizzled_desc(v_stage + ks * 16 * 128, TOKENS * 128, 1024));
  }
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace cascade::cuda

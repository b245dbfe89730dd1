// Device side of cuda_l2_prefetch.h: any kernel's threads ask L2 for the ranges.
#pragma once

#include "ops/cuda/cuda_l2_prefetch.h"

namespace cascade::cuda {

// Each asking thread takes pieces of this size; a range's last piece may be shorter.
inline constexpr uint64_t kL2PrefetchPieceBytes = 16 * 1024;

__device__ __forceinline__ void l2_prefetch_piece(const char* p, uint32_t bytes) {
#if __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(p), "r"(bytes) : "memory");
#else
  for (uint32_t off = 0; off < bytes; off += 128)
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p + off));
#endif
}

// Piece `first`, first + stride, ... of the ranges (counted over all of them, in order).
// Block-major numbering (first = threadIdx.x · gridDim.x + blockIdx.x) spreads the pieces
// over every block's SM, whose bulk-copy unit issues them.
__device__ __forceinline__ void l2_prefetch_pieces(const L2PrefetchRanges& ranges, uint64_t first,
                                                   uint64_t stride) {
  uint64_t piece = first, range_first = 0;
#pragma unroll  // constant indices: the ranges stay in the kernel's parameter space
  for (int i = 0; i < kMaxL2PrefetchRanges; ++i) {
    if (i == ranges.count) break;
    const uint64_t bytes = ranges.bytes[i];
    const uint64_t pieces = (bytes + kL2PrefetchPieceBytes - 1) / kL2PrefetchPieceBytes;
    for (; piece < range_first + pieces; piece += stride) {
      const uint64_t offset = (piece - range_first) * kL2PrefetchPieceBytes;
      const uint64_t left = bytes - offset;
      l2_prefetch_piece(
          static_cast<const char*>(ranges.begin[i]) + offset,
          static_cast<uint32_t>(left < kL2PrefetchPieceBytes ? left : kL2PrefetchPieceBytes));
    }
    range_first += pieces;
  }
}

}  // namespace cascade::cuda

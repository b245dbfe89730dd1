// Bringing weights into L2 ahead of the kernels that read them. A decode step of a few
// rows reads each projection's weight once, in a kernel too short to keep DRAM busy (B6's
// gate/up GEMV reads 17 MB at ~1.7 TB/s); the same bytes from L2 arrive at several times
// that. While the step's attention runs on a few SMs, DRAM is idle: a kernel on a side
// stream asks for the layer's next weights then, with Hopper's bulk prefetch (one
// instruction per piece, no registers, no completion to wait for).
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

// Each thread asks for pieces of this size; a range's last piece may be shorter.
constexpr uint64_t kPieceBytes = 16 * 1024;
constexpr int kThreads = 32;

__device__ __forceinline__ void prefetch_piece(const char* p, uint32_t bytes) {
#if __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" ::"l"(p), "r"(bytes) : "memory");
#else
  for (uint32_t off = 0; off < bytes; off += 128) {
    asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p + off));
  }
#endif
}

// Shapes: ranges.count ranges of ranges.bytes[i] bytes from ranges.begin[i] (16-byte
// aligned, sizes multiples of 16); any grid, kThreads per block.
__global__ void l2_prefetch_kernel(const L2PrefetchRanges ranges) {
  const uint64_t stride = uint64_t{gridDim.x} * blockDim.x;
  uint64_t piece = uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  uint64_t first_piece = 0;  // of range i, counted over all ranges
  for (int i = 0; i < ranges.count; ++i) {
    const uint64_t pieces = (ranges.bytes[i] + kPieceBytes - 1) / kPieceBytes;
    for (; piece < first_piece + pieces; piece += stride) {
      const uint64_t offset = (piece - first_piece) * kPieceBytes;
      const uint64_t bytes = ranges.bytes[i] - offset < kPieceBytes ? ranges.bytes[i] - offset
                                                                    : kPieceBytes;
      prefetch_piece(static_cast<const char*>(ranges.begin[i]) + offset,
                     static_cast<uint32_t>(bytes));
    }
    first_piece += pieces;
  }
}

}  // namespace

void l2_prefetch(const L2PrefetchRanges& ranges, int blocks, cudaStream_t stream) {
  if (ranges.count == 0) return;
  l2_prefetch_kernel<<<blocks, kThreads, 0, stream>>>(ranges);
  CASCADE_CUDA_CHECK_LAUNCH("l2_prefetch_kernel");
}

}  // namespace cascade::cuda

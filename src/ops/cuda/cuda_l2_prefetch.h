// Bringing weights into L2 ahead of the kernels that read them. A decode step of a few
// rows reads each projection's weight once, in a kernel too short to keep DRAM busy (B6's
// gate/up GEMV reads 17 MB at ~1.7 TB/s); while the step's attention runs on a few SMs,
// DRAM is idle. So a layer's first GEMV also asks L2 for the layer's later weights (and
// the next layer's first), with Hopper's bulk prefetch: one instruction per piece, spread
// over all its blocks, no registers held and nothing waiting for the data. A kernel of its
// own on a side stream cost B6 10 % (the graph's fork and join per layer).
#pragma once

#include <cstdint>

namespace cascade::cuda {

// Up to kMaxL2PrefetchRanges byte ranges of device memory: 16-byte aligned begins, sizes
// multiples of 16.
inline constexpr int kMaxL2PrefetchRanges = 8;
struct L2PrefetchRanges {
  const void* begin[kMaxL2PrefetchRanges] = {};
  uint64_t bytes[kMaxL2PrefetchRanges] = {};
  int count = 0;
};

}  // namespace cascade::cuda

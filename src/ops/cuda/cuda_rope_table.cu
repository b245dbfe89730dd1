// The queries' RoPE rotations as a table: (cos, sin) per (position, pair), filled once per
// (theta, head_dim) by the same device arithmetic (rope_cos_sin: a float angle, then a
// double-precision sincos) that the attention kernels use per query tile, so a lookup gives
// the same bits. A tile of B2's shared chunks spent ~15 % of the wgmma kernel's stall
// samples rotating its queries (ncu, H200, 2026-12-02).
//
// On by default (CASCADE_ROPE_TABLE=0 computes every rotation). On an H200 (2026-12-03):
// B4's cached step 2.54-2.57 -> 2.46 ms, B2 batch 128 +0.8 %. When first tried
// (2026-12-02, B4's cached step then 5.2 ms) it made that step 5 % slower; what changed
// the sign since (the tiles' split, the merge's loads) was not profiled.
#include <algorithm>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 256;

// table: [positions, half] float2; inv_freq: [half] f32.
__global__ void fill_rope_table_kernel(float2* table, const float* inv_freq, int64_t positions,
                                       int half) {
  const int64_t n = positions * half;
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < n;
       e += int64_t{gridDim.x} * kThreads) {
    float c = 0.0f, s = 0.0f;
    rope_cos_sin(static_cast<int>(e / half), inv_freq[e % half], &c, &s);
    table[e] = make_float2(c, s);
  }
}

}  // namespace

void fill_rope_table(float2* table, const float* inv_freq, int64_t positions, int half,
                     cudaStream_t stream) {
  const int64_t n = positions * half;
  if (n == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, 4096));
  fill_rope_table_kernel<<<blocks, kThreads, 0, stream>>>(table, inv_freq, positions, half);
  CASCADE_CUDA_CHECK_LAUNCH("fill_rope_table_kernel");
}

}  // namespace cascade::cuda

// qkv_store: split the fused projection, per-head RMSNorm of q and k, RoPE on k, write
// K/V into their cache slots. One warp per (row, head): blocks of kWarps heads of one row,
// so a decode step of one row still spreads its heads over several SMs.
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxPairsPerLane = 4;  // head_dim <= 256

// qkv: [rows, (hq + 2·hkv)·d] bf16; q_norm, k_norm: [d] bf16 or null; positions, slots:
// [rows] i32; inv_freq: [d/2] f32; q: [rows, hq, d] bf16; k_cache, v_cache:
// [slots, hkv, d] bf16. Lane l holds the rotate-half pairs (i, i + d/2), i = l + 32·j.
__global__ void __launch_bounds__(kWarps * 32)
    qkv_store_kernel(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
                     const int32_t* positions, const int32_t* slots, const float* inv_freq, int hq,
                     int hkv, int d, int64_t cache_slots, bf16* q, bf16* k_cache, bf16* v_cache) {
  wait_prior_grids();
  const int64_t r = blockIdx.x;
  const int lane = threadIdx.x % 32, half = d / 2;
  const int heads = hq + 2 * hkv;
  const bf16* row = qkv + r * heads * d;
  const int64_t slot = slots[r];
  const bool slot_valid = 0 <= slot && slot < cache_slots;
  for (int head = static_cast<int>(blockIdx.y) * kWarps + static_cast<int>(threadIdx.x) / 32;
       head < heads; head += static_cast<int>(gridDim.y) * kWarps) {
    const bf16* src = row + head * d;
    float a[kMaxPairsPerLane], b[kMaxPairsPerLane];
    float sum_sq = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxPairsPerLane; ++j) {
      const int i = lane + 32 * j;
      a[j] = i < half ? __bfloat162float(src[i]) : 0.0f;
      b[j] = i < half ? __bfloat162float(src[i + half]) : 0.0f;
      sum_sq += a[j] * a[j] + b[j] * b[j];
    }
    const bool is_q = head < hq, is_k = !is_q && head < hq + hkv;
    if (!is_q && !slot_valid) continue;
    const bf16* norm = is_q ? q_norm : (is_k ? k_norm : nullptr);
    bf16* dst;
    if (is_q) {
      dst = q + (r * hq + head) * d;
    } else if (is_k) {
      dst = k_cache + (slot * hkv + (head - hq)) * d;
    } else {
      dst = v_cache + (slot * hkv + (head - hq - hkv)) * d;
    }
    if (norm) {
      const float inv_rms = rsqrtf(warp_sum(sum_sq) / static_cast<float>(d) + eps);
#pragma unroll
      for (int j = 0; j < kMaxPairsPerLane; ++j) {
        const int i = lane + 32 * j;
        if (i < half) {
          a[j] = __bfloat162float(norm[i]) * (a[j] * inv_rms);
          b[j] = __bfloat162float(norm[i + half]) * (b[j] * inv_rms);
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kMaxPairsPerLane; ++j) {
      const int i = lane + 32 * j;
      if (i >= half) continue;
      float x = a[j], y = b[j];
      if (is_k) {
        float c, s;
        rope_cos_sin(positions[r], inv_freq[i], &c, &s);
        const float2 turned = rope_rotate(a[j], b[j], c, s);
        x = turned.x;
        y = turned.y;
      }
      dst[i] = __float2bfloat16(x);
      dst[i + half] = __float2bfloat16(y);
    }
  }
}

}  // namespace

void qkv_store(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
               const int32_t* positions, const int32_t* slots, const float* inv_freq, int64_t rows,
               int hq, int hkv, int d, int64_t cache_slots, bf16* q, bf16* k_cache, bf16* v_cache,
               cudaStream_t stream) {
  if (rows == 0) return;
  const dim3 grid(static_cast<unsigned>(rows),
                  static_cast<unsigned>((hq + 2 * hkv + kWarps - 1) / kWarps));
  launch("qkv_store_kernel", qkv_store_kernel, grid, kWarps * 32, 0, stream, qkv, q_norm, k_norm,
         eps, positions, slots, inv_freq, hq, hkv, d, cache_slots, q, k_cache, v_cache);
}

}  // namespace cascade::cuda

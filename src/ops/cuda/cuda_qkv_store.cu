// qkv_store: split the fused projection, per-head RMSNorm of q and k, RoPE on k, write
// K/V into their cache slots.
//
// By default (CASCADE_QKV_STORE_BY_8=0 for the other kernel) qkv_store_by_8_kernel: 8
// elements a lane with 16-byte loads and stores, d / 8 lanes a head (several heads a warp),
// the rotation's partner element from the lane d / 16 away. Otherwise, and where d or the
// pointers' alignment do not allow it, one warp per (row, head): blocks of kWarps heads of
// one row, so a decode step of one row still spreads its heads over several SMs. In B1's
// decode step the warp kernel took 5.7 µs a layer, where a dependent kernel costs ~2.4 µs;
// by 8, B1 +0.1 to +0.2 % (within noise; H200, 2026-12-03). The same arithmetic per
// element; the norm's sum of squares is added in another order.
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "base/env_int.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxPairsPerLane = 4;  // head_dim <= 256

// Where head `head` of row r goes: its q row, or its slot's K or V row in the cache.
__device__ __forceinline__ bf16* head_destination(int64_t r, int head, int64_t slot, int hq,
                                                  int hkv, int d, bf16* q, bf16* k_cache,
                                                  bf16* v_cache) {
  if (head < hq) return q + (r * hq + head) * d;
  if (head < hq + hkv) return k_cache + (slot * hkv + (head - hq)) * d;
  return v_cache + (slot * hkv + (head - hq - hkv)) * d;
}

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
    bf16* dst = head_destination(r, head, slot, hq, hkv, d, q, k_cache, v_cache);
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

constexpr int kBy8Threads = 256;

// The by-8 kernel: lanes [g·L, g·L + L) of a block (L = d / 8, a power of two <= 32) hold
// unit u = blockIdx.x · (kBy8Threads / L) + g, i.e. (row u / heads, head u % heads); lane
// j of a unit holds elements [8j, 8j + 8), so lane j < L/2 holds the first elements of the
// rotate-half pairs whose second elements lane j + L/2 holds. Arguments as qkv_store_kernel;
// qkv, q, the caches and the norms 16-byte aligned, d % 16 == 0.
template <int L>
__global__ void __launch_bounds__(kBy8Threads)
    qkv_store_by_8_kernel(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
                          const int32_t* positions, const int32_t* slots, const float* inv_freq,
                          int64_t rows, int hq, int hkv, int64_t cache_slots, bf16* q,
                          bf16* k_cache, bf16* v_cache) {
  constexpr int d = 8 * L, kHalfLanes = L / 2;
  wait_prior_grids();
  const int heads = hq + 2 * hkv;
  const int64_t unit = blockIdx.x * int64_t{kBy8Threads / L} + threadIdx.x / L;
  const int j = static_cast<int>(threadIdx.x % L);
  // Every lane takes part in the shuffles; those past the last unit store nothing.
  const bool valid = unit < rows * heads;
  const int64_t r = valid ? unit / heads : 0;
  const int head = valid ? static_cast<int>(unit % heads) : 0;
  const bool is_q = head < hq, is_k = !is_q && head < hq + hkv;
  const int64_t slot = slots[r];
  const bool stores = valid && (is_q || (0 <= slot && slot < cache_slots));
  const uint4 raw = *reinterpret_cast<const uint4*>(qkv + (r * heads + head) * d + j * 8);
  const bf16* norm = is_q ? q_norm : (is_k ? k_norm : nullptr);
  uint4 norm_raw = make_uint4(0, 0, 0, 0);
  if (norm) norm_raw = *reinterpret_cast<const uint4*>(norm + j * 8);
  float x[8];
  float sum_sq = 0.0f;
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    x[e] = __bfloat162float(reinterpret_cast<const bf16*>(&raw)[e]);
    sum_sq += x[e] * x[e];
  }
  // The whole warp shuffles (a warp may hold heads with and without a norm).
#pragma unroll
  for (int m = L / 2; m >= 1; m /= 2) sum_sq += __shfl_xor_sync(0xffffffffu, sum_sq, m);
  if (norm) {
    const float inv_rms = rsqrtf(sum_sq / static_cast<float>(d) + eps);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      x[e] = __bfloat162float(reinterpret_cast<const bf16*>(&norm_raw)[e]) * (x[e] * inv_rms);
    }
  }
  // k: the angles of the lane's 8 pairs, half computed by each partner and exchanged (the
  // double-precision sincos is the costly part); every lane shuffles, the mask is the warp.
  const bool first = j < kHalfLanes;
  float c[8] = {}, s[8] = {};
  if (is_k) {
    const int pair0 = (j % kHalfLanes) * 8;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      if (first == (e < 4)) rope_cos_sin(positions[r], inv_freq[pair0 + e], &c[e], &s[e]);
    }
  }
  uint4 out;
  auto* o = reinterpret_cast<bf16*>(&out);
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    const float partner_c = __shfl_xor_sync(0xffffffffu, c[e], kHalfLanes);
    const float partner_s = __shfl_xor_sync(0xffffffffu, s[e], kHalfLanes);
    const float y = __shfl_xor_sync(0xffffffffu, x[e], kHalfLanes);  // the pair's other element
    float value = x[e];
    if (is_k) {
      const bool own = first == (e < 4);
      const float ce = own ? c[e] : partner_c, se = own ? s[e] : partner_s;
      // rope_rotate's two outputs: (a·c − b·s) where this lane holds a, (b·c + a·s) where b.
      value = first ? rope_rotate(x[e], y, ce, se).x : rope_rotate(y, x[e], ce, se).y;
    }
    o[e] = __float2bfloat16(value);
  }
  if (!stores) return;
  bf16* dst = head_destination(r, head, slot, hq, hkv, d, q, k_cache, v_cache);
  *reinterpret_cast<uint4*>(dst + j * 8) = out;
}

template <int L>
void launch_by_8(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
                 const int32_t* positions, const int32_t* slots, const float* inv_freq,
                 int64_t rows, int hq, int hkv, int64_t cache_slots, bf16* q, bf16* k_cache,
                 bf16* v_cache, cudaStream_t stream) {
  const int64_t units = rows * (hq + 2 * hkv);
  constexpr int kUnitsPerBlock = kBy8Threads / L;
  const auto blocks = static_cast<unsigned>((units + kUnitsPerBlock - 1) / kUnitsPerBlock);
  launch("qkv_store_by_8_kernel", qkv_store_by_8_kernel<L>, blocks, kBy8Threads, 0, stream, qkv,
         q_norm, k_norm, eps, positions, slots, inv_freq, rows, hq, hkv, cache_slots, q, k_cache,
         v_cache);
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

std::atomic<bool> qkv_store_by_8 = true;  // CASCADE_QKV_STORE_BY_8

}  // namespace

void qkv_store(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
               const int32_t* positions, const int32_t* slots, const float* inv_freq, int64_t rows,
               int hq, int hkv, int d, int64_t cache_slots, bf16* q, bf16* k_cache, bf16* v_cache,
               cudaStream_t stream) {
  if (rows == 0) return;
  const bool by_8 = qkv_store_by_8.load(std::memory_order_relaxed) &&
                    (d == 16 || d == 32 || d == 64 || d == 128 || d == 256) && aligned_16(qkv) &&
                    aligned_16(q) && aligned_16(k_cache) && aligned_16(v_cache) &&
                    (q_norm == nullptr || aligned_16(q_norm)) &&
                    (k_norm == nullptr || aligned_16(k_norm));
  if (by_8) {
    const auto run = [&](auto lanes) {
      launch_by_8<decltype(lanes)::value>(qkv, q_norm, k_norm, eps, positions, slots, inv_freq,
                                          rows, hq, hkv, cache_slots, q, k_cache, v_cache, stream);
    };
    if (d == 16) return run(std::integral_constant<int, 2>{});
    if (d == 32) return run(std::integral_constant<int, 4>{});
    if (d == 64) return run(std::integral_constant<int, 8>{});
    if (d == 128) return run(std::integral_constant<int, 16>{});
    return run(std::integral_constant<int, 32>{});
  }
  const dim3 grid(static_cast<unsigned>(rows),
                  static_cast<unsigned>((hq + 2 * hkv + kWarps - 1) / kWarps));
  launch("qkv_store_kernel", qkv_store_kernel, grid, kWarps * 32, 0, stream, qkv, q_norm, k_norm,
         eps, positions, slots, inv_freq, hq, hkv, d, cache_slots, q, k_cache, v_cache);
}

void prepare_qkv_store() {
  set_qkv_store_by_8(env_int("CASCADE_QKV_STORE_BY_8", 1, 0, 1) == 1);
}

void set_qkv_store_by_8(bool on) {
  qkv_store_by_8 = on;
}

bool qkv_store_by_8_enabled() {
  return qkv_store_by_8;
}

}  // namespace cascade::cuda

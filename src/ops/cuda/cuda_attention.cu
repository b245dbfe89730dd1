// Attention task kernel (CUDA cores) and merge kernel; see cuda_attention_work.h for how
// a plan becomes work items and parts.
//
// Task kernel on CUDA cores, for small tiles (decode) and for head sizes without the
// tensor-core kernel (cuda_attention_mma.cu): a block of W warps (4, or 16 for wide work)
// runs one work item (a tile of ROWS flat query rows of one task, one KV chunk; rows past
// the task's pad the tile and are skipped) for one kv head. The queries are rotated at
// position - rope_delta, scaled by log2(e)/sqrt(d) and kept in shared memory as f32. Warp w
// walks the KV blocks w, w + W, ... of 32 tokens: the block's V rows are copied into shared
// memory asynchronously while lane j scores token j against every row (its K row loaded 8
// pieces of 16 bytes at a time, all in flight together; or, on 4-row tiles at head_dim 64 and
// 128 unless CASCADE_ATTENTION_KEY_LANES=1, each key row read by 8 lanes together and the partial
// sums of the 8 lanes exchanged so that lane j again holds token j's scores, and P·V reading 4
// tokens' probabilities at once); an online base-2 softmax per row keeps (max m, sum l, o) in
// registers, and P·V gives each lane d/32 output dims. The warps' states are merged at the end into
// one (o, lse) per row: the part written to part_o / part_lse, or, where every row has one part
// (AttentionMerge::kNone), the output row. With AttentionMerge::kLastPart the block that writes a
// row's last part then merges the row. With AttentionMerge::kCluster (split decode, each row in
// one task) a tile's KV chunks run as one thread block cluster: each block leaves its rows' (o,
// lse) in its shared memory, and after a cluster barrier the cluster's threads merge every
// element from all blocks' shared memory (distributed shared memory) and write the output, so
// no merge kernel runs (B6: +2.7 %, H200 2026-12-01).
//
// Merge kernel: one warp per (row, head) combines the row's parts through their LSE.
#include <cooperative_groups.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_task.cuh"
#include "ops/cuda/cuda_attention_work.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = kNarrowWarps;  // per block: the merge kernel, the task kernel unless wide
constexpr int kThreads = kWarps * 32;
constexpr int kBlockTokens = 32;  // KV tokens per warp step (one per lane)
constexpr float kMinusInf = -INFINITY;
constexpr int kCoreLargeTileRows = 16;  // large tiles where no tensor-core kernel exists

template <int D, int ROWS, int WARPS>
struct TaskShared {
  static constexpr int kDimsPerLane = D >= 32 ? D / 32 : 1;
  union {
    struct {
      float q[ROWS][D];                            // rotated, scaled queries
      float p[WARPS][ROWS][kBlockTokens];          // one warp step's probabilities
      alignas(16) bf16 v[WARPS][kBlockTokens][D];  // one warp step's V rows
    } loop;
    struct {
      float o[WARPS][ROWS][D];
      float m[WARPS][ROWS];
      float l[WARPS][ROWS];
    } merge;
  };
  int limit[ROWS];     // KV tokens row r may see in this item: [kv_begin, limit)
  int finished[ROWS];  // kLastPart: the (row · hq + head) this block merges, or -1
  // kCluster: this block's part of each tile row (normalized o and its LSE), read by the
  // cluster's blocks through distributed shared memory.
  float cluster_o[ROWS][D];
  float cluster_lse[ROWS];
};

// The 8 bf16 of a 16-byte piece as f32.
__device__ __forceinline__ void unpack_bf16x8(const uint4& raw, float (&out)[8]) {
  const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const float2 f = __bfloat1622float2(pairs[e]);
    out[2 * e] = f.x;
    out[2 * e + 1] = f.y;
  }
}

// q · k over 8 dims, q as two float4.
__device__ __forceinline__ float dot8(const float4& q0, const float4& q1, const float (&k)[8]) {
  return q0.x * k[0] + q0.y * k[1] + q0.z * k[2] + q0.w * k[3] + q1.x * k[4] + q1.y * k[5] +
         q1.z * k[6] + q1.w * k[7];
}

// s[r] += q[r] · k for rows r < USED of the tile, k: [D] bf16 (global), q: sh.loop.q f32.
// The K row's 16-byte pieces are loaded in batches, all of a batch's loads issued before the
// first is used, so that several are in flight per lane. USED is a template argument so
// that the unrolled row loops carry no per-row test (a tile's padding rows are skipped by
// choosing USED = ROWS / 2 when they are half of it).
template <int USED, int D, int ROWS, int WARPS>
__device__ __forceinline__ void score_token(const uint4* __restrict__ k,
                                            const TaskShared<D, ROWS, WARPS>& sh,
                                            float (&s)[ROWS]) {
  constexpr int kKBatch = D / 8 < 8 ? D / 8 : 8;
#pragma unroll
  for (int c0 = 0; c0 < D / 8; c0 += kKBatch) {
    uint4 raw[kKBatch];
#pragma unroll
    for (int b = 0; b < kKBatch; ++b) raw[b] = k[c0 + b];
#pragma unroll
    for (int b = 0; b < kKBatch; ++b) {
      const int c = c0 + b;
      float kf[8];
      unpack_bf16x8(raw[b], kf);
#pragma unroll
      for (int r = 0; r < USED; ++r) {
        const float4 q0 = *reinterpret_cast<const float4*>(&sh.loop.q[r][c * 8]);
        const float4 q1 = *reinterpret_cast<const float4*>(&sh.loop.q[r][c * 8 + 4]);
        s[r] += dot8(q0, q1, kf);
      }
    }
  }
}

// The sum over a group of 8 lanes (lanes 8g .. 8g + 7) of v[i], left in lane 8g + i: a
// butterfly that halves the values carried at each level (4 + 2 + 1 shuffles for 8 sums,
// where a reduction of each would take 24).
__device__ __forceinline__ float sum_8_lanes_scattered(float (&v)[8], int lane) {
  const bool hi4 = (lane & 4) != 0, hi2 = (lane & 2) != 0, hi1 = (lane & 1) != 0;
#pragma unroll
  for (int i = 0; i < 4; ++i) {  // v[i] now stands for index i + 4 · hi4
    const float send = hi4 ? v[i] : v[i + 4], keep = hi4 ? v[i + 4] : v[i];
    v[i] = keep + __shfl_xor_sync(0xffffffffu, send, 4);
  }
#pragma unroll
  for (int i = 0; i < 2; ++i) {  // ... i + 2 · hi2 + 4 · hi4
    const float send = hi2 ? v[i] : v[i + 2], keep = hi2 ? v[i + 2] : v[i];
    v[i] = keep + __shfl_xor_sync(0xffffffffu, send, 2);
  }
  const float send = hi1 ? v[0] : v[1], keep = hi1 ? v[1] : v[0];
  return keep + __shfl_xor_sync(0xffffffffu, send, 1);
}

// s[r] += q[r] · k for rows r < USED and this lane's token (block + lane), the warp's 32
// keys read 8 lanes per key (KEY_LANES 8): lanes 8g .. 8g + 7 load tokens 8g .. 8g + 7 of
// the block one after another, 128 contiguous bytes of a key row per load (8 dims a lane),
// where a lane reading its own key row makes every load touch 32 lines (8× the L1
// wavefronts for the same bytes). Each lane sums its dims of the 8 keys for every row,
// and sum_8_lanes_scattered leaves lane L the score of token L. token_row: this lane's
// token's row in the cache viewed as [rows, D] (task_token_row; any row past kv_stop).
// Shapes: k_cache [pages · page_size · hkv, D] bf16; sh.loop.q [ROWS][D] f32. D % 64 == 0.
template <int USED, int D, int ROWS, int WARPS>
__device__ __forceinline__ void score_tokens_8_lanes_each(const bf16* __restrict__ k_cache,
                                                          int token_row, int block, int kv_stop,
                                                          int lane,
                                                          const TaskShared<D, ROWS, WARPS>& sh,
                                                          float (&s)[ROWS]) {
  static_assert(D % 64 == 0, "a key row is whole 128-byte pieces");
  constexpr int kRowBlock = USED < 4 ? USED : 4;  // rows whose partial sums are live at once
  static_assert(USED % kRowBlock == 0);
  const int group0 = lane & ~7, sub = lane & 7;
  int key_row[8];  // the cache rows of the group's 8 keys, -1 past the end
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = __shfl_sync(0xffffffffu, token_row, group0 + i);
    key_row[i] = block + group0 + i < kv_stop ? row : -1;
  }
  const bf16* lane_k = k_cache + sub * 8;  // this lane's 8 dims of a row's piece 0
  // A piece at a time: the loads of two pieces at once do not fit the 128 registers of 4
  // blocks per SM (kTaskMinBlocks) without spilling.
#pragma unroll 1
  for (int piece = 0; piece < D / 64; ++piece) {
    uint4 raw[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      raw[i] = key_row[i] >= 0 ? *reinterpret_cast<const uint4*>(
                                     lane_k + static_cast<int64_t>(key_row[i]) * D + piece * 64)
                               : make_uint4(0, 0, 0, 0);
    }
    const int dim0 = piece * 64 + sub * 8;
#pragma unroll
    for (int r0 = 0; r0 < USED; r0 += kRowBlock) {
      float4 q[kRowBlock][2];
#pragma unroll
      for (int rr = 0; rr < kRowBlock; ++rr) {
        q[rr][0] = *reinterpret_cast<const float4*>(&sh.loop.q[r0 + rr][dim0]);
        q[rr][1] = *reinterpret_cast<const float4*>(&sh.loop.q[r0 + rr][dim0 + 4]);
      }
      float part[kRowBlock][8];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        float kf[8];
        unpack_bf16x8(raw[i], kf);
#pragma unroll
        for (int rr = 0; rr < kRowBlock; ++rr) part[rr][i] = dot8(q[rr][0], q[rr][1], kf);
      }
#pragma unroll
      for (int rr = 0; rr < kRowBlock; ++rr) s[r0 + rr] += sum_8_lanes_scattered(part[rr], lane);
    }
  }
}

// This lane's DIMS dims of a V row in shared memory, as f32.
template <int DIMS>
__device__ __forceinline__ void load_lane_dims(const bf16* vp, float (&v)[DIMS]) {
  if constexpr (DIMS == 4) {
    const uint2 raw = *reinterpret_cast<const uint2*>(vp);
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
    const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
    v[0] = a.x;
    v[1] = a.y;
    v[2] = b.x;
    v[3] = b.y;
  } else if constexpr (DIMS == 2) {
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(vp));
    v[0] = a.x;
    v[1] = a.y;
  } else {
#pragma unroll
    for (int e = 0; e < DIMS; ++e) v[e] = __bfloat162float(vp[e]);
  }
}

// o[r] += Σ_j p[r][j] · v[j] over the warp step's `tokens` for rows r < USED; v_lane: this
// lane's dims of V row 0 in shared memory (row stride D bf16); p: [ROWS][kBlockTokens] f32.
template <int USED, int D, int ROWS, int DIMS>
__device__ __forceinline__ void accumulate_pv(const bf16* v_lane,
                                              const float (&p)[ROWS][kBlockTokens], int tokens,
                                              float (&o)[ROWS][DIMS], int j = 0) {
  for (; j < tokens; ++j) {
    float v[DIMS];
    load_lane_dims(v_lane + j * D, v);
#pragma unroll
    for (int r = 0; r < USED; ++r) {
      const float pr = p[r][j];
#pragma unroll
      for (int e = 0; e < DIMS; ++e) o[r][e] += pr * v[e];
    }
  }
}

// accumulate_pv with the probabilities of 4 tokens read at once (a float4 per row rather
// than a broadcast load per row and token), the rest of a short step one at a time.
template <int USED, int D, int ROWS, int DIMS>
__device__ __forceinline__ void accumulate_pv_by_4(const bf16* v_lane,
                                                   const float (&p)[ROWS][kBlockTokens], int tokens,
                                                   float (&o)[ROWS][DIMS]) {
  int j = 0;
  for (; j + 4 <= tokens; j += 4) {
    float4 pr[USED];
#pragma unroll
    for (int r = 0; r < USED; ++r) pr[r] = *reinterpret_cast<const float4*>(&p[r][j]);
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      float v[DIMS];
      load_lane_dims(v_lane + (j + jj) * D, v);
#pragma unroll
      for (int r = 0; r < USED; ++r) {
        const float pj = jj == 0 ? pr[r].x : jj == 1 ? pr[r].y : jj == 2 ? pr[r].z : pr[r].w;
#pragma unroll
        for (int e = 0; e < DIMS; ++e) o[r][e] += pj * v[e];
      }
    }
  }
  accumulate_pv<USED, D>(v_lane, p, tokens, o, j);
}

// The online softmax (base 2) of rows r < USED over one warp step, this lane's token
// scored s[r] (masked from the row's limit on): m, l and o rescaled, p[r][lane] written.
// The rows' warp reductions are interleaved, one butterfly carrying every row, rather than
// a chain of shuffles per row (a decode row of Qwen2.5-0.5B has 7). A row that has seen
// nothing yet (a padding row: limit 0) keeps m = -inf, l = 0, o = 0 and gets p = 0: with m
// taken as 0 there, both exponentials are 2^-inf = 0.
template <int USED, int ROWS, int DIMS>
__device__ __forceinline__ void online_softmax(const float (&s)[ROWS], int token, const int* limit,
                                               float (&m)[ROWS], float (&l)[ROWS],
                                               float (&o)[ROWS][DIMS], float (*p)[kBlockTokens],
                                               int lane) {
  float score[USED], x[USED], alpha[USED];
#pragma unroll
  for (int r = 0; r < USED; ++r) {
    score[r] = token < limit[r] ? s[r] : kMinusInf;
    x[r] = score[r];
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
#pragma unroll
    for (int r = 0; r < USED; ++r) x[r] = fmaxf(x[r], __shfl_xor_sync(0xffffffffu, x[r], offset));
  }
#pragma unroll
  for (int r = 0; r < USED; ++r) {
    const float m_new = fmaxf(m[r], x[r]);
    const float m_use = m_new == kMinusInf ? 0.0f : m_new;
    score[r] = fast_exp2(score[r] - m_use);  // p
    alpha[r] = fast_exp2(m[r] - m_use);
    m[r] = m_new;
    x[r] = score[r];
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
#pragma unroll
    for (int r = 0; r < USED; ++r) x[r] += __shfl_xor_sync(0xffffffffu, x[r], offset);
  }
#pragma unroll
  for (int r = 0; r < USED; ++r) {
    l[r] = l[r] * alpha[r] + x[r];
#pragma unroll
    for (int e = 0; e < DIMS; ++e) o[r][e] *= alpha[r];
    p[r][lane] = score[r];
  }
}

// v = src[0 .. N) (f32, through L2), in 16- or 8-byte loads where N allows.
template <int N>
__device__ __forceinline__ void load_f32_dims(const float* src, float (&v)[N]) {
  if constexpr (N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 4) {
      const float4 x = __ldcg(reinterpret_cast<const float4*>(src + i));
      v[i] = x.x;
      v[i + 1] = x.y;
      v[i + 2] = x.z;
      v[i + 3] = x.w;
    }
  } else if constexpr (N % 2 == 0) {
#pragma unroll
    for (int i = 0; i < N; i += 2) {
      const float2 x = __ldcg(reinterpret_cast<const float2*>(src + i));
      v[i] = x.x;
      v[i + 1] = x.y;
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = __ldcg(src + i);
  }
}

// Row `row`, head `head` of out: [rows, hq, D] bf16 from its parts, part_o: [parts, hq, D]
// f32 and part_lse: [parts, hq] f32, merge_parts[merge_begin[row] .. merge_begin[row + 1]),
// by one warp: its lanes first take a part each (the weights 2^(lse_i - lse)), then every
// lane owns D / 32 dims and sums the parts' values, the part indices and weights broadcast.
// A row's first kHeldRounds · 32 LSEs are read once, into registers (a row of B4 merges 33
// parts), and the parts' values are loaded kLoadsInFlight at a time, so the merge
// is a few dependent loads deep instead of one per part. The parts are read through L2
// (another block may have written them in this launch).
template <int D, int LOADS = 8>
__device__ __forceinline__ void merge_row_head(const AttentionArgs& args, const WorkView& w,
                                               int row, int head, int lane) {
  constexpr int kDims = D >= 32 ? D / 32 : 1;  // per lane (D 16: lanes 16..31 idle)
  constexpr int kHeldRounds = 2;
  constexpr int kLoadsInFlight = LOADS;
  const int32_t* merge_parts = w[kWorkMergeParts];
  const int begin = w[kWorkMergeBegin][row], end = w[kWorkMergeBegin][row + 1];
  // This lane's part of round `round` (parts begin + 32 · round + lane): its (part · hq + head)
  // and LSE, or 0 and -inf past the row's parts.
  const auto load_part = [&](int round, int64_t& state, float& lse) {
    const int i = begin + 32 * round + lane;
    state = 0;
    lse = kMinusInf;
    if (i < end) {
      state = static_cast<int64_t>(merge_parts[i]) * args.hq + head;
      lse = __ldcg(&args.part_lse[state]);
    }
  };
  int64_t held_state[kHeldRounds];
  float held_lse[kHeldRounds];
#pragma unroll
  for (int k = 0; k < kHeldRounds; ++k) load_part(k, held_state[k], held_lse[k]);
  const int rounds = (end - begin + 31) / 32;
  float m_all = kMinusInf;
#pragma unroll
  for (int k = 0; k < kHeldRounds; ++k) m_all = fmaxf(m_all, held_lse[k]);
  for (int k = kHeldRounds; k < rounds; ++k) {  // rows of more parts than are held
    int64_t state;
    float lse;
    load_part(k, state, lse);
    m_all = fmaxf(m_all, lse);
  }
  m_all = warp_max(m_all);
  bf16* dst = args.out + (static_cast<int64_t>(row) * args.hq + head) * D + lane * kDims;
  const bool owner = lane * kDims < D;
  if (m_all == kMinusInf) {  // nothing visible: zero, as on the CPU
    if (owner) {
#pragma unroll
      for (int k = 0; k < kDims; ++k) dst[k] = __float2bfloat16(0.0f);
    }
    return;
  }
  float total = 0.0f;  // exp2(-inf) is 0 for the lanes past the parts
#pragma unroll
  for (int k = 0; k < kHeldRounds; ++k) total += exp2f(held_lse[k] - m_all);
  for (int k = kHeldRounds; k < rounds; ++k) {
    int64_t state;
    float lse;
    load_part(k, state, lse);
    total += exp2f(lse - m_all);
  }
  const float lse = m_all + log2f(warp_sum(total));
  float acc[kDims] = {};
  for (int k = 0; k < rounds; ++k) {
    int64_t state = 0;
    float part_lse = kMinusInf;
    if (k >= kHeldRounds) load_part(k, state, part_lse);
#pragma unroll
    for (int h = 0; h < kHeldRounds; ++h) {  // not held[k]: a dynamic index spills to local memory
      if (h == k) {
        state = held_state[h];
        part_lse = held_lse[h];
      }
    }
    const float weight = exp2f(part_lse - lse);  // 0 past the row's parts
    const int count = min(32, end - begin - 32 * k);
    for (int j0 = 0; j0 < count; j0 += kLoadsInFlight) {
      float v[kLoadsInFlight][kDims];
      float wj[kLoadsInFlight];
#pragma unroll
      for (int b = 0; b < kLoadsInFlight; ++b) {
        const int j = j0 + b < count ? j0 + b : 0;
        const int64_t s = __shfl_sync(0xffffffffu, state, j);
        wj[b] = j0 + b < count ? __shfl_sync(0xffffffffu, weight, j) : 0.0f;
#pragma unroll
        for (int e = 0; e < kDims; ++e) v[b][e] = 0.0f;
        if (owner && j0 + b < count) load_f32_dims<kDims>(args.part_o + s * D + lane * kDims, v[b]);
      }
      if (!owner) continue;
#pragma unroll
      for (int b = 0; b < kLoadsInFlight; ++b) {
#pragma unroll
        for (int e = 0; e < kDims; ++e) acc[e] += wj[b] * v[b][e];
      }
    }
  }
  if (owner) {
#pragma unroll
    for (int k = 0; k < kDims; ++k) dst[k] = __float2bfloat16(acc[k]);
  }
}

// kLastPart, after the block wrote the tile's parts: each of the tile's (row, head) counts its
// parts written in merge_count, and the block that writes a row's last part merges the row
// and sets its count back to 0 for the next launch. Every thread fences its part writes
// before the count, and the merging block fences after it (CUDA's threadfence reduction).
template <int D, int ROWS, int WARPS>
__device__ __forceinline__ void merge_finished_rows(const AttentionArgs& args, const TaskItem& t,
                                                    int rows_valid,
                                                    TaskShared<D, ROWS, WARPS>& sh) {
  const WorkView w{args.work};
  __threadfence();
  __syncthreads();
  if (static_cast<int>(threadIdx.x) < rows_valid) {
    const int flat = t.flat_row0 + static_cast<int>(threadIdx.x);
    const int row = t.rows[t.slot0 + flat / t.group];
    const int unit = row * args.hq + t.kv_head * t.group + flat % t.group;
    const int parts = w[kWorkMergeBegin][row + 1] - w[kWorkMergeBegin][row];
    const bool last = atomicAdd(&args.merge_count[unit], 1) == parts - 1;
    if (last) args.merge_count[unit] = 0;
    sh.finished[threadIdx.x] = last ? unit : -1;
  }
  __syncthreads();
  __threadfence();
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  for (int r = warp; r < rows_valid; r += WARPS) {
    const int unit = sh.finished[r];
    if (unit >= 0) merge_row_head<D>(args, w, unit / args.hq, unit % args.hq, lane);
  }
}

// One work item: q: [rows, hq, D] bf16 (args.q); k_cache, v_cache:
// [pages, page_size, hkv, D] bf16; writes part_o: [parts, hq, D] f32 and part_lse:
// [parts, hq] f32 for the item's rows, or (kNone) out: [rows, hq, D] bf16. KEY_LANES: the
// lanes that read one key row to score it, 1 (score_token) or 8 (score_tokens_8_lanes_each).
template <int D, int ROWS, int WARPS, int KEY_LANES>
__device__ __forceinline__ void run_task_item(const AttentionArgs& args, const TaskItem& t,
                                              TaskShared<D, ROWS, WARPS>& sh) {
  constexpr int kDimsPerLane = TaskShared<D, ROWS, WARPS>::kDimsPerLane;
  constexpr int kThreads = WARPS * 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kv_begin = t.kv_begin;
  // Rows past the task's flat rows pad the tile: their scores, softmax and P·V are skipped
  // (a warp-uniform test, so the warp reductions inside stay legal).
  const int rows_valid = min(ROWS, t.flat_rows - t.flat_row0);

  // The rows' limits come from the plan and positions (the host writes them), so with
  // programmatic dependent launch they are read while the kernels before finish; the
  // queries and the cache are written by those kernels.
  if (threadIdx.x < ROWS)
    sh.limit[threadIdx.x] = task_row_limit(args, t, t.flat_row0 + threadIdx.x);
  wait_prior_grids();
  // Query tile: rotate each rotate-half pair (i, i + D/2) at position - rope_delta (not
  // for an item of no tokens: a kCluster chunk padding its cluster).
  if (t.kv_end > kv_begin) {
    rotate_query_tile<D, ROWS>(args, t, threadIdx.x, kThreads, [&](int r, int i, float x, float y) {
      sh.loop.q[r][i] = x;
      sh.loop.q[r][i + D / 2] = y;
    });
  }
  __syncthreads();
  int kv_stop = kv_begin;  // a padding row's limit is 0, so it never raises kv_stop
#pragma unroll
  for (int r = 0; r < ROWS; ++r) kv_stop = max(kv_stop, sh.limit[r]);

  float m[ROWS], l[ROWS], o[ROWS][kDimsPerLane];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    m[r] = kMinusInf;
    l[r] = 0.0f;
#pragma unroll
    for (int e = 0; e < kDimsPerLane; ++e) o[r][e] = 0.0f;
  }
  const bool lane_has_dims = lane * kDimsPerLane < D;

  for (int block = kv_begin + warp * kBlockTokens; block < kv_stop; block += WARPS * kBlockTokens) {
    const int token = block + lane;
    const bool token_valid = token < kv_stop;
    int token_row = 0;  // of this lane's token and kv head in the cache viewed as [.., D]
    if (token_valid) token_row = task_token_row(args, t, token);
    const int64_t kv_offset = static_cast<int64_t>(token_row) * D;  // element offset
    // The block's V rows into shared memory (zeros past the end) while K is scored.
    bf16* v_block = &sh.loop.v[warp][0][0];
    for (int c = lane; c < kBlockTokens * (D / 8); c += 32) {
      const int j = c / (D / 8), part = c % (D / 8);
      const int64_t offset = __shfl_sync(0xffffffffu, kv_offset, j);
      const bool valid = block + j < kv_stop;
      copy_16_async(v_block + j * D + part * 8, args.v_cache + (valid ? offset + part * 8 : 0),
                    valid ? 16 : 0);
    }
    // Scores of this lane's token against every row of the tile.
    float s[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) s[r] = 0.0f;
    if constexpr (KEY_LANES == 8) {
      if (rows_valid > ROWS / 2) {
        score_tokens_8_lanes_each<ROWS>(args.k_cache, token_row, block, kv_stop, lane, sh, s);
      } else {
        score_tokens_8_lanes_each<ROWS / 2>(args.k_cache, token_row, block, kv_stop, lane, sh, s);
      }
    } else if (token_valid) {
      const uint4* k = reinterpret_cast<const uint4*>(args.k_cache + kv_offset);
      if (rows_valid > ROWS / 2) {
        score_token<ROWS>(k, sh, s);
      } else {
        score_token<ROWS / 2>(k, sh, s);
      }
    }
    if (rows_valid > ROWS / 2) {
      online_softmax<ROWS>(s, token, sh.limit, m, l, o, sh.loop.p[warp], lane);
    } else {
      online_softmax<ROWS / 2>(s, token, sh.limit, m, l, o, sh.loop.p[warp], lane);
    }
    copies_wait_all();
    __syncwarp();
    // o += P · V: lane owns dims [lane · kDimsPerLane, ... + kDimsPerLane).
    const int tokens = min(kBlockTokens, kv_stop - block);
    if (lane_has_dims) {
      const bf16* v_lane = v_block + lane * kDimsPerLane;
      if constexpr (KEY_LANES == 8) {
        if (rows_valid > ROWS / 2) {
          accumulate_pv_by_4<ROWS, D>(v_lane, sh.loop.p[warp], tokens, o);
        } else {
          accumulate_pv_by_4<ROWS / 2, D>(v_lane, sh.loop.p[warp], tokens, o);
        }
      } else if (rows_valid > ROWS / 2) {
        accumulate_pv<ROWS, D>(v_lane, sh.loop.p[warp], tokens, o);
      } else {
        accumulate_pv<ROWS / 2, D>(v_lane, sh.loop.p[warp], tokens, o);
      }
    }
    __syncwarp();
  }

  // Merge the warps' states; the loop's shared memory is reused.
  __syncthreads();
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    if (r >= rows_valid) break;
    if (lane_has_dims) {
#pragma unroll
      for (int e = 0; e < kDimsPerLane; ++e) sh.merge.o[warp][r][lane * kDimsPerLane + e] = o[r][e];
    }
    if (lane == 0) {
      sh.merge.m[warp][r] = m[r];
      sh.merge.l[warp][r] = l[r];
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < rows_valid * D; idx += kThreads) {
    const int r = idx / D, dim = idx % D;
    const int flat = t.flat_row0 + r;
    float m_all = kMinusInf;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) m_all = fmaxf(m_all, sh.merge.m[w][r]);
    float out = 0.0f, lse = kMinusInf;
    if (m_all != kMinusInf) {
      float sum = 0.0f, acc = 0.0f;
#pragma unroll
      for (int w = 0; w < WARPS; ++w) {
        const float scale = fast_exp2(sh.merge.m[w][r] - m_all);
        sum += sh.merge.l[w][r] * scale;
        acc += sh.merge.o[w][r][dim] * scale;
      }
      out = acc / sum;
      lse = m_all + log2f(sum);
    }
    if (args.merge == AttentionMerge::kCluster) {
      sh.cluster_o[r][dim] = out;
      if (dim == 0) sh.cluster_lse[r] = lse;
      continue;
    }
    const int head = t.kv_head * t.group + flat % t.group;
    if (args.merge == AttentionMerge::kNone) {
      const int64_t row = t.rows[t.slot0 + flat / t.group];
      args.out[(row * args.hq + head) * D + dim] = __float2bfloat16(out);
      continue;
    }
    const int64_t part = t.part_base + flat / t.group;
    args.part_o[(part * args.hq + head) * D + dim] = out;
    if (dim == 0) args.part_lse[part * args.hq + head] = lse;
  }
  if (args.merge == AttentionMerge::kLastPart) merge_finished_rows(args, t, rows_valid, sh);
}

// kCluster, after every block of the cluster ran its chunk of tile `t` (its rows' o and LSE
// in sh.cluster_o / cluster_lse): out: [rows, hq, D] bf16 of the tile's rows, each element
// merged from the cluster's blocks (chunk order) with merge_row_head's arithmetic, the
// elements spread over all the cluster's threads. The second barrier keeps every block's
// shared memory alive until the others have read it.
template <int D, int ROWS, int WARPS>
__device__ __forceinline__ void merge_cluster_rows(const AttentionArgs& args, const TaskItem& t,
                                                   TaskShared<D, ROWS, WARPS>& sh) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  cluster.sync();
  const int blocks = static_cast<int>(cluster.num_blocks());
  const int rows_valid = min(ROWS, t.flat_rows - t.flat_row0);
  const int stride = blocks * WARPS * 32;
  for (int idx = static_cast<int>(cluster.block_rank()) * WARPS * 32 + threadIdx.x;
       idx < rows_valid * D; idx += stride) {
    const int r = idx / D, dim = idx % D;
    float lse[kMostClusterBlocks];
    float m_all = kMinusInf;
#pragma unroll
    for (int b = 0; b < kMostClusterBlocks; ++b) {
      if (b >= blocks) break;
      lse[b] = *cluster.map_shared_rank(&sh.cluster_lse[r], b);
      m_all = fmaxf(m_all, lse[b]);
    }
    float acc = 0.0f;
    if (m_all != kMinusInf) {  // else nothing visible: zero, as on the CPU
      float total = 0.0f;
#pragma unroll
      for (int b = 0; b < kMostClusterBlocks; ++b) {
        if (b < blocks) total += exp2f(lse[b] - m_all);
      }
      const float lse_all = m_all + log2f(total);
#pragma unroll
      for (int b = 0; b < kMostClusterBlocks; ++b) {
        if (b < blocks) {
          acc += exp2f(lse[b] - lse_all) * *cluster.map_shared_rank(&sh.cluster_o[r][dim], b);
        }
      }
    }
    const int flat = t.flat_row0 + r;
    const int64_t row = t.rows[t.slot0 + flat / t.group];
    const int head = t.kv_head * t.group + flat % t.group;
    args.out[(row * args.hq + head) * D + dim] = __float2bfloat16(acc);
  }
  cluster.sync();
#endif
}

// out: [rows, hq, D] bf16. Where no merge kernel runs, the rows past the plan's (padding
// of a recorded step) are zeroed, as the merge does, for kv head `kv_head`.
template <int D>
__device__ __forceinline__ void zero_padding_rows(const AttentionArgs& args, const WorkView& w,
                                                  int kv_head) {
  const int group = args.hq / args.hkv, real = w.count(kWorkNumRows);
  const int64_t n = static_cast<int64_t>(args.rows - real) * group * D;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t row = real + i / (group * D);
    const int64_t head = static_cast<int64_t>(kv_head) * group + i / D % group;
    args.out[(row * args.hq + head) * D + i % D] = __float2bfloat16(0.0f);
  }
}

// Blocks per SM the registers must allow: eight lanes per key took 168 registers on
// narrow blocks (Qwen3's decode rows), 3 blocks per SM where a lane per key runs 4; at 128
// nothing spills (head size 128). 0 asks for nothing, as no second argument does (an
// explicit 1 lets ptxas give the lane-per-key kernel 182 registers instead of 114).
template <int WARPS, int KEY_LANES>
constexpr int kTaskMinBlocks = KEY_LANES == 8 && WARPS == kNarrowWarps ? 4 : 0;

// The small (large == false) or large work items, block b taking items b, b + blocks, ...
// for one kv head: the grid is (blocks, hkv), or (hkv, blocks) with args.heads_inner, where
// a task's kv heads start side by side and read neighbouring bytes of the cache's token rows
// ([.., hkv, d]). Shared memory: TaskShared<D, ROWS, WARPS> (dynamic: wide blocks need more
// than 48 KiB).
template <int D, int ROWS, int WARPS, int KEY_LANES>
__global__ void __launch_bounds__(WARPS * 32, kTaskMinBlocks<WARPS, KEY_LANES>)
    attention_task_kernel(const AttentionArgs args, const bool large) {
  release_dependents();  // the next kernel (a GEMV) may ask for its weights meanwhile
  // The work (the plan) is written by the host: read before waiting for the kernels before
  // (run_task_item waits before it reads the queries and the cache).
  extern __shared__ uint4 task_shared[];
  auto& sh = *reinterpret_cast<TaskShared<D, ROWS, WARPS>*>(task_shared);
  const WorkView w{args.work};
  const int kv_head = static_cast<int>(args.heads_inner ? blockIdx.x : blockIdx.y);
  const int block = static_cast<int>(args.heads_inner ? blockIdx.y : blockIdx.x);
  const int blocks = static_cast<int>(args.heads_inner ? gridDim.y : gridDim.x);
  const int count = w.count(large ? kWorkNumLarge : kWorkNumSmall);
  const int32_t* items = w[large ? kWorkLargeItems : kWorkSmallItems];
  for (int i = block; i < count; i += blocks) {
    const TaskItem t = load_task_item(args, w, items, i, kv_head);
    run_task_item<D, ROWS, WARPS, KEY_LANES>(args, t, sh);
    // kCluster: one item per block (the grid covers them), and a cluster's blocks have
    // items or none.
    if (args.merge == AttentionMerge::kCluster && !large) {
      merge_cluster_rows(args, t, sh);
      break;
    }
    __syncthreads();  // the next item reuses shared memory
  }
  if (args.merge != AttentionMerge::kKernel && block == 0) {
    wait_prior_grids();  // a kernel before may still read out (the previous layer's)
    zero_padding_rows<D>(args, w, kv_head);
  }
}

// The task kernel's KEY_LANES for args.key_lanes 8: 8 where key rows are whole 128-byte
// pieces and tiles have 4 rows, else 1 (the same instantiation as for args.key_lanes 1):
// 8-row tiles took 213-235 registers with 8 lanes per key (2 blocks per SM), and spill at 128.
template <int D, int ROWS>
constexpr int kKeyLanes8 = D % 64 == 0 && ROWS == kSmallTileRows ? 8 : 1;

// cluster_blocks > 1: the small tiles' kCluster launch, clusters of that many blocks.
template <int D, int ROWS, int WARPS>
void launch_task_kernel(const AttentionArgs& args, int blocks, bool large, cudaStream_t stream,
                        int cluster_blocks = 0) {
  constexpr int kMostGridY = 65535;  // blocks past it: the kernel's item loop covers them
  const auto hkv = static_cast<unsigned>(args.hkv);
  const dim3 grid = args.heads_inner
                        ? dim3(hkv, static_cast<unsigned>(std::min(blocks, kMostGridY)))
                        : dim3(static_cast<unsigned>(blocks), hkv);
  const auto kernel = args.key_lanes == 8
                          ? attention_task_kernel<D, ROWS, WARPS, kKeyLanes8<D, ROWS>>
                          : attention_task_kernel<D, ROWS, WARPS, 1>;
  const size_t shared = sizeof(TaskShared<D, ROWS, WARPS>);
  if (cluster_blocks > 1) {  // a tile's chunks side by side on the block axis
    cudaLaunchAttribute cluster{};
    cluster.id = cudaLaunchAttributeClusterDimension;
    cluster.val.clusterDim.x = args.heads_inner ? 1 : static_cast<unsigned>(cluster_blocks);
    cluster.val.clusterDim.y = args.heads_inner ? static_cast<unsigned>(cluster_blocks) : 1;
    cluster.val.clusterDim.z = 1;
    launch_with_pdl("attention_task_kernel", cluster, kernel, grid, WARPS * 32, shared, stream,
                    args, large);
    return;
  }
  launch("attention_task_kernel", kernel, grid, WARPS * 32, shared, stream, args, large);
}

// Wide blocks' shared memory is past the 48 KiB a kernel gets without asking.
template <int D>
void allow_wide_shared() {
  const auto allow = [](auto kernel, size_t bytes) {
    CASCADE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(bytes)));
  };
  constexpr size_t kRows4 = sizeof(TaskShared<D, kSmallTileRows, kWideWarps>);
  constexpr size_t kRows8 = sizeof(TaskShared<D, 2 * kSmallTileRows, kWideWarps>);
  allow(attention_task_kernel<D, kSmallTileRows, kWideWarps, 1>, kRows4);
  allow(attention_task_kernel<D, 2 * kSmallTileRows, kWideWarps, 1>, kRows8);
  allow(attention_task_kernel<D, kSmallTileRows, kWideWarps, kKeyLanes8<D, kSmallTileRows>>,
        kRows4);
}

// The merge of every (row, head) of out: a warp each (merge_row_head).
template <int D, int LOADS>
__global__ void __launch_bounds__(kThreads) attention_merge_kernel(const AttentionArgs args) {
  wait_prior_grids();
  const int64_t unit = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (unit >= static_cast<int64_t>(args.rows) * args.hq) return;
  merge_row_head<D, LOADS>(args, WorkView{args.work}, static_cast<int>(unit / args.hq),
                           static_cast<int>(unit % args.hq), static_cast<int>(threadIdx.x % 32));
}

template <int D>
void launch_large_tasks(const AttentionArgs& args, const AttentionGrid& grid, cudaStream_t stream) {
  const int blocks = grid.large_blocks;
  if constexpr (mma_head_dim(D)) {
    attention_mma_tasks(args, blocks, grid.large_tile_rows, stream);
  } else if (blocks > 0) {
    launch_task_kernel<D, kCoreLargeTileRows, kWarps>(args, blocks, true, stream);
  }
}

template <int D>
void launch_tasks(const AttentionArgs& args, const AttentionGrid& grid,
                  const AttentionStreams& streams) {
  cudaStream_t stream = streams.main;
  const bool both = grid.small_blocks > 0 && grid.large_blocks > 0 && streams.side != nullptr;
  if (both) {  // large tiles first: the longer kernel takes its SMs, the short one the rest
    CASCADE_CUDA_CHECK(cudaEventRecord(streams.fork, stream));
    CASCADE_CUDA_CHECK(cudaStreamWaitEvent(streams.side, streams.fork, 0));
    launch_large_tasks<D>(args, grid, streams.side);
    CASCADE_CUDA_CHECK(cudaEventRecord(streams.join, streams.side));
  }
  if (grid.small_blocks > 0) {
    const bool rows4 = grid.small_tile_rows == kSmallTileRows;
    const int blocks = grid.small_blocks;
    if (grid.wide) {
      rows4 ? launch_task_kernel<D, kSmallTileRows, kWideWarps>(args, blocks, false, stream)
            : launch_task_kernel<D, 2 * kSmallTileRows, kWideWarps>(args, blocks, false, stream);
    } else {
      const int cluster = grid.cluster_blocks;
      rows4
          ? launch_task_kernel<D, kSmallTileRows, kWarps>(args, blocks, false, stream, cluster)
          : launch_task_kernel<D, 2 * kSmallTileRows, kWarps>(args, blocks, false, stream, cluster);
    }
    CASCADE_CUDA_CHECK_LAUNCH("attention_task_kernel (small tiles)");
  }
  if (both) {
    CASCADE_CUDA_CHECK(cudaStreamWaitEvent(stream, streams.join, 0));
  } else {
    launch_large_tasks<D>(args, grid, stream);
  }
}

// The merge kernel's parts loaded at a time (CASCADE_ATTENTION_MERGE_LOADS): 8, 16, or
// kMergeLoadsBySize (merge_loads_for).
std::atomic<int> merge_loads = kMergeLoadsBySize;

template <int D>
auto merge_kernel_for(int64_t units) {
  const int setting = merge_loads.load(std::memory_order_relaxed);
  const int loads = setting == kMergeLoadsBySize ? merge_loads_for(units) : setting;
  return loads == 16 ? attention_merge_kernel<D, 16> : attention_merge_kernel<D, 8>;
}

}  // namespace

void set_attention_merge_loads(int loads) {
  check(loads == kMergeLoadsBySize || loads == 8 || loads == 16, [&] {
    return "CASCADE_ATTENTION_MERGE_LOADS: " + std::to_string(loads) +
           " (0 for by the step's size, 8 or 16)";
  });
  merge_loads = loads;
}

bool attention_supports_head_dim(int d) {
  return d == 16 || d == 32 || d == 64 || d == 128;
}

int attention_large_tile_rows(int d, int64_t rows) {
  if (!attention_mma_supports_head_dim(d)) return kCoreLargeTileRows;
  return attention_wgmma_ws_for(rows) ? kWsTileRows : kMmaTileRows;
}

void prepare_attention_task_kernels() {
  set_attention_merge_loads(
      env_int("CASCADE_ATTENTION_MERGE_LOADS", kMergeLoadsBySize, kMergeLoadsBySize, 16));
  allow_wide_shared<16>();
  allow_wide_shared<32>();
  allow_wide_shared<64>();
  allow_wide_shared<128>();
}

void attention(const AttentionArgs& args, const AttentionGrid& grid,
               const AttentionStreams& streams) {
  switch (args.d) {
    case 16:
      launch_tasks<16>(args, grid, streams);
      break;
    case 32:
      launch_tasks<32>(args, grid, streams);
      break;
    case 64:
      launch_tasks<64>(args, grid, streams);
      break;
    case 128:
      launch_tasks<128>(args, grid, streams);
      break;
    default:
      throw Error("attention: no CUDA kernel for head_dim " + std::to_string(args.d));
  }
  const int64_t units = static_cast<int64_t>(args.rows) * args.hq;
  if (units == 0 || args.merge != AttentionMerge::kKernel) return;
  const auto blocks = static_cast<unsigned>((units + kWarps - 1) / kWarps);
  const auto merge = args.d == 16   ? merge_kernel_for<16>(units)
                     : args.d == 32 ? merge_kernel_for<32>(units)
                     : args.d == 64 ? merge_kernel_for<64>(units)
                                    : merge_kernel_for<128>(units);
  launch("attention_merge_kernel", merge, blocks, kThreads, 0, streams.main, args);
}

}  // namespace cascade::cuda

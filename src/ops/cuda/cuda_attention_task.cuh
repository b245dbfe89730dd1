// What both attention task kernels (CUDA cores and tensor cores) read of their work item:
// the task's rows, pages and masking, each flat row's rotated query and visible KV range.
#pragma once

#include "ops/cuda/cuda_attention_work.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {

// The step's work as the kernels read it: w[kWorkRowBegin] is the row_begin array, and so
// on (AttentionWorkHeader); count(kWorkNumSmall) an item count.
struct WorkView {
  const int32_t* packed;
  __device__ __forceinline__ const int32_t* operator[](AttentionWorkHeader array) const {
    return packed + packed[array];
  }
  __device__ __forceinline__ int count(AttentionWorkHeader what) const { return packed[what]; }
};

struct TaskItem {
  int kv_head, group;
  int flat_row0, kv_begin, kv_end, part_base;  // the AttentionWorkItem
  int slot0, flat_rows, kv_len, kv_pos0, rope_delta;
  bool causal;
  const int32_t* rows;   // the task's query rows, by slot
  const int32_t* pages;  // the task's pages
};

// Work item `index` of `items` for kv head `kv_head`.
__device__ __forceinline__ TaskItem load_task_item(const AttentionArgs& args, const WorkView& w,
                                                   const int32_t* items, int index,
                                                   int kv_head = static_cast<int>(blockIdx.y)) {
  TaskItem t;
  const int32_t* item = items + 5 * index;
  const int task = item[0];
  t.kv_head = kv_head;
  t.group = args.hq / args.hkv;
  t.flat_row0 = item[1];
  t.kv_begin = item[2];
  t.kv_end = item[3];
  t.part_base = item[4];
  t.slot0 = w[kWorkRowBegin][task];
  t.flat_rows = (w[kWorkRowBegin][task + 1] - t.slot0) * t.group;
  t.kv_len = w[kWorkKvLen][task];
  t.kv_pos0 = w[kWorkKvPos0][task];
  t.rope_delta = w[kWorkRopeDelta][task];
  t.causal = w[kWorkCausal][task] != 0;
  t.rows = w[kWorkTaskRows];
  t.pages = w[kWorkTaskPages] + w[kWorkPageBegin][task];
  return t;
}

// Whether args.rope_table holds `position` (a query row's position - rope_delta).
__device__ __forceinline__ bool in_rope_table(const AttentionArgs& args, int position) {
  return static_cast<unsigned>(position) < static_cast<unsigned>(args.rope_table_positions);
}

// rope_cos_sin(position, args.inv_freq[i]): from the table where it holds the position.
__device__ __forceinline__ void query_cos_sin(const AttentionArgs& args, int position, int i,
                                              float* c, float* s) {
  if (in_rope_table(args, position)) {
    const float2 cs = args.rope_table[static_cast<int64_t>(position) * (args.d / 2) + i];
    *c = cs.x;
    *s = cs.y;
    return;
  }
  rope_cos_sin(position, args.inv_freq[i], c, s);
}

// The query tile of TILE flat rows from t.flat_row0: emit(r, i, x, y) for every tile row r
// and rotate-half pair (i, i + D/2), the pair rotated at position - rope_delta and scaled
// by score_scale (zeros for rows past the task's), spread over `threads` threads. A flat
// row is (slot, head) = (flat / group, flat % group), and the group's heads share their
// sequence row's position: each (slot, i) takes the rotation's cos and sin once for all
// its heads (query_cos_sin: the CPU's numerics, a float angle and cos and sin in double,
// the longest chain of a tile's set-up; or the same values from the experimental table).
template <int D, int TILE, class Emit>
__device__ __forceinline__ void rotate_query_tile(const AttentionArgs& args, const TaskItem& t,
                                                  int thread, int threads, Emit emit) {
  const int group = t.group;
  const int first_slot = t.flat_row0 / group;
  const int units = ((t.flat_row0 + TILE - 1) / group - first_slot + 1) * (D / 2);
  for (int u = thread; u < units; u += threads) {
    const int slot = first_slot + u / (D / 2), i = u % (D / 2);
    const int f0 = max(slot * group, t.flat_row0);
    const int f1 = min((slot + 1) * group, t.flat_row0 + TILE);
    if (f0 >= t.flat_rows) {  // a slot is wholly inside the task's rows or wholly past them
      for (int f = f0; f < f1; ++f) emit(f - t.flat_row0, i, 0.0f, 0.0f);
      continue;
    }
    const int row = t.rows[t.slot0 + slot];
    // Flat row f's query head: q_slot + (f - f0) · D.
    const bf16* q_slot =
        args.q +
        (static_cast<int64_t>(row) * args.hq + t.kv_head * group + (f0 - slot * group)) * D;
    float c = 0.0f, s = 0.0f;
    // kHeads heads' loads at a time, issued together (the first batch's before cos and sin),
    // so that a group of 7 waits for two rounds of loads, not seven.
    constexpr int kHeads = 4;
    for (int fb = f0; fb < f1; fb += kHeads) {
      float a[kHeads], b[kHeads];
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
        const bool inside = fb + h < f1;
        a[h] = inside ? __bfloat162float(q_slot[(fb - f0 + h) * D + i]) : 0.0f;
        b[h] = inside ? __bfloat162float(q_slot[(fb - f0 + h) * D + i + D / 2]) : 0.0f;
      }
      if (fb == f0) query_cos_sin(args, args.positions[row] - t.rope_delta, i, &c, &s);
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
        if (fb + h >= f1) break;
        emit(fb + h - t.flat_row0, i, (a[h] * c - b[h] * s) * args.score_scale,
             (b[h] * c + a[h] * s) * args.score_scale);
      }
    }
  }
}

// rotate_query_tile for the tensor-core kernels' tiles of 64 rows: the same emits with the
// same expressions (the same bits), but a unit of work is (slot, 8 consecutive pairs), so
// a thread loads its heads' halves 16 bytes at a time and turns 8 independent pairs per
// unit. A tile then waits for about 2 rounds of load latency per thread instead of ~16:
// one pair per unit made this set-up 31 % of the wgmma kernel's time on B2's shared chunks
// (ncu's stall samples, mostly waiting for the query loads). D: a multiple of 16.
template <int D, int TILE, class Emit>
__device__ __forceinline__ void rotate_query_tile_wide(const AttentionArgs& args, const TaskItem& t,
                                                       int thread, int threads, Emit emit) {
  constexpr int kPairs = 8;  // one 16-byte load of each half per head
  constexpr int kSegments = D / 2 / kPairs;
  static_assert(D % (2 * kPairs) == 0, "whole segments of 8 pairs");
  const int group = t.group;
  const int first_slot = t.flat_row0 / group;
  const int units = ((t.flat_row0 + TILE - 1) / group - first_slot + 1) * kSegments;
  for (int u = thread; u < units; u += threads) {
    const int slot = first_slot + u / kSegments, i0 = (u % kSegments) * kPairs;
    const int f0 = max(slot * group, t.flat_row0);
    const int f1 = min((slot + 1) * group, t.flat_row0 + TILE);
    if (f0 >= t.flat_rows) {  // a slot is wholly inside the task's rows or wholly past them
      for (int f = f0; f < f1; ++f) {
#pragma unroll
        for (int k = 0; k < kPairs; ++k) emit(f - t.flat_row0, i0 + k, 0.0f, 0.0f);
      }
      continue;
    }
    const int row = t.rows[t.slot0 + slot];
    const bf16* q_slot =
        args.q +
        (static_cast<int64_t>(row) * args.hq + t.kv_head * group + (f0 - slot * group)) * D + i0;
    float c[kPairs], s[kPairs];
    // Two heads' loads at a time, the first two before cos and sin.
    constexpr int kHeads = 2;
    for (int fb = f0; fb < f1; fb += kHeads) {
      uint4 a[kHeads], b[kHeads];
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
        const bool inside = fb + h < f1;
        const bf16* x = q_slot + (fb - f0 + (inside ? h : 0)) * D;
        a[h] = *reinterpret_cast<const uint4*>(x);
        b[h] = *reinterpret_cast<const uint4*>(x + D / 2);
      }
      if (fb == f0) {
        const int position = args.positions[row] - t.rope_delta;
        if (in_rope_table(args, position)) {  // 8 pairs: four 16-byte loads
          const auto* cs = reinterpret_cast<const float4*>(
              args.rope_table + static_cast<int64_t>(position) * (D / 2) + i0);
#pragma unroll
          for (int k = 0; k < kPairs / 2; ++k) {
            const float4 v = cs[k];
            c[2 * k] = v.x;
            s[2 * k] = v.y;
            c[2 * k + 1] = v.z;
            s[2 * k + 1] = v.w;
          }
        } else {
#pragma unroll
          for (int k = 0; k < kPairs; ++k)
            rope_cos_sin(position, args.inv_freq[i0 + k], &c[k], &s[k]);
        }
      }
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
        if (fb + h >= f1) break;
        const bf16* av = reinterpret_cast<const bf16*>(&a[h]);
        const bf16* bv = reinterpret_cast<const bf16*>(&b[h]);
#pragma unroll
        for (int k = 0; k < kPairs; ++k) {
          const float x = __bfloat162float(av[k]), y = __bfloat162float(bv[k]);
          emit(fb + h - t.flat_row0, i0 + k, (x * c[k] - y * s[k]) * args.score_scale,
               (y * c[k] + x * s[k]) * args.score_scale);
        }
      }
    }
  }
}

// Flat row `flat` may see the item's KV tokens [kv_begin, limit): all of the task's unless
// causal (keys at logical positions up to the row's own), none past the task's rows.
__device__ __forceinline__ int task_row_limit(const AttentionArgs& args, const TaskItem& t,
                                              int flat) {
  if (flat >= t.flat_rows) return 0;
  int visible = t.kv_len;
  if (t.causal) {
    const int row = t.rows[t.slot0 + flat / t.group];
    visible = min(max(args.positions[row] - t.kv_pos0 + 1, 0), t.kv_len);
  }
  return min(visible, t.kv_end);
}

// Row of KV token `token` of the task, kv head t.kv_head, in a cache viewed as
// [pages · page_size · hkv, d] (fits int32: checked when the attention is launched).
__device__ __forceinline__ int task_token_row(const AttentionArgs& args, const TaskItem& t,
                                              int token) {
  const unsigned u = static_cast<unsigned>(token), page_size = args.page_size;
  return (t.pages[u / page_size] * args.page_size + static_cast<int>(u % page_size)) * args.hkv +
         t.kv_head;
}

// Element offset of KV token `token` of the task, kv head t.kv_head, in a cache
// [pages, page_size, hkv, d].
__device__ __forceinline__ int64_t task_token_offset(const AttentionArgs& args, const TaskItem& t,
                                                     int token, int d) {
  return static_cast<int64_t>(task_token_row(args, t, token)) * d;
}

}  // namespace cascade::cuda

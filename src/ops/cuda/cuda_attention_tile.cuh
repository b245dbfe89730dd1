// What the two tensor-core attention kernels (mma.sync: cuda_attention_mma.cu; wgmma:
// cuda_attention_wgmma.cu) share for a tile of kMmaTileRows flat query rows run by 4 warps,
// warp w owning rows [16w, 16w + 16): the query tile as A fragments, the KV blocks' token
// offsets and copies, the masked online softmax over one KV block's scores in the
// accumulator layout of mma m16n8 / wgmma m64nN (thread t of a warp holds rows g = t / 4
// and g + 8, columns 2 (t % 4) and + 1 of every 8), and the writing of the tile's parts.
#pragma once

#include <cmath>
#include <type_traits>

#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_task.cuh"
#include "ops/cuda/cuda_tensor_core.cuh"

namespace cascade::cuda {

inline constexpr int kTileThreads = 128;
inline constexpr int kTileTokens = 64;  // KV tokens per block step
// Token offsets are found two KV blocks ahead, so a slot is written while the two before
// it may still be read: three slots.
inline constexpr int kTileOffsetSlots = 3;
static_assert(kMmaTileRows == 64, "4 warps of 16 rows");

// This thread's index in the warpgroup that runs the tile: threadIdx.x in a block of one
// warpgroup; a block of several (the warp-specialized kernel) runs a tile per warpgroup.
__device__ __forceinline__ int tile_thread() {
  return static_cast<int>(threadIdx.x % kTileThreads);
}

// The whole block's barrier, for kernels whose block is the tile's warpgroup.
struct BlockBarrier {
  __device__ __forceinline__ void operator()() const { __syncthreads(); }
};

// This thread's rows in the tile and how far they see.
struct TileRows {
  int row_a;           // this thread's first row (g); the other is row_a + 8
  int limit[2];        // KV tokens each may see: [kv_begin, limit)
  int warp_min_limit;  // blocks wholly below it need no mask
  int kv_stop;         // the tile's end: max of its rows' limits
};

// What a tile does once its rows' limits are known and before its queries are rotated:
// nothing, or (the wgmma kernel) start the KV pipeline, so that the first block's copies
// are in flight during the rotation (the longest part of a tile's set-up).
struct NothingBeforeQueries {
  __device__ __forceinline__ void operator()(int /*kv_stop*/) const {}
};

// The rows' limits through limit_sh ([kMmaTileRows]), published by barrier() (the tile's
// warpgroup's); then before_queries(kv_stop); then the query tile, rotated and scaled, as
// bf16: row r's element i at staged[place(r, i)], published by the caller's next barrier.
template <int D, class Place, class Barrier, class BeforeQueries>
__device__ __forceinline__ TileRows stage_query_tile(const AttentionArgs& args, const TaskItem& t,
                                                     bf16* staged, Place place, int* limit_sh,
                                                     Barrier barrier,
                                                     BeforeQueries before_queries) {
  const int thread = tile_thread(), warp = thread / 32, lane = thread % 32;
  if (thread < kMmaTileRows) limit_sh[thread] = task_row_limit(args, t, t.flat_row0 + thread);
  barrier();
  const auto tile_kv_stop = [&] {
    int kv_stop = t.kv_begin;
    for (int r = 0; r < kMmaTileRows; ++r) kv_stop = max(kv_stop, limit_sh[r]);
    return kv_stop;
  };
  // (Found again below rather than kept: registers are what the mma.sync kernel lacks.)
  if constexpr (!std::is_same_v<BeforeQueries, NothingBeforeQueries>)
    before_queries(tile_kv_stop());
  rotate_query_tile_wide<D, kMmaTileRows>(args, t, thread, kTileThreads,
                                          [&](int r, int i, float x, float y) {
                                            staged[place(r, i)] = __float2bfloat16(x);
                                            staged[place(r, i + D / 2)] = __float2bfloat16(y);
                                          });
  TileRows rows;
  rows.kv_stop = tile_kv_stop();
  rows.row_a = warp * 16 + lane / 4;
  rows.limit[0] = limit_sh[rows.row_a];
  rows.limit[1] = limit_sh[rows.row_a + 8];
  rows.warp_min_limit = __reduce_min_sync(0xffffffffu, min(rows.limit[0], rows.limit[1]));
  return rows;
}

// The query tile staged as rows of `stride` elements at `staged` (stage_query_tile), then
// this warp's A fragments q. Ends with barrier() (the tile's warpgroup's): `staged` may then
// be reused. before_queries must leave `staged` alone.
template <int D, class Barrier = BlockBarrier, class BeforeQueries = NothingBeforeQueries>
__device__ __forceinline__ TileRows load_query_tile(const AttentionArgs& args, const TaskItem& t,
                                                    bf16* staged, int stride, int* limit_sh,
                                                    uint32_t (&q)[D / 16][4], Barrier barrier = {},
                                                    BeforeQueries before_queries = {}) {
  const int warp = tile_thread() / 32, lane = tile_thread() % 32;
  const TileRows rows = stage_query_tile<D>(
      args, t, staged, [stride](int r, int i) { return r * stride + i; }, limit_sh, barrier,
      before_queries);
  barrier();
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) {
    ldmatrix_x4(q[ks], &staged[(warp * 16 + lane % 16) * stride + ks * 16 + (lane / 16) * 8]);
  }
  barrier();
  return rows;
}

// Threads 0..kTileTokens-1: the cache rows of KV tokens [block, block + kTileTokens)
// into rows[] (task_token_row; -1 from kv_stop on). Published by the next barrier. 32-bit
// rows (not 64-bit element offsets) keep the copy loop's address arithmetic short.
template <int D>
__device__ __forceinline__ void find_token_offsets(const AttentionArgs& args, const TaskItem& t,
                                                   int block, int kv_stop, int* rows) {
  if (tile_thread() < kTileTokens) {
    const int token = block + tile_thread();
    rows[tile_thread()] = token < kv_stop ? task_token_row(args, t, token) : -1;
  }
}

// Block-wide: starts copying K and V of the block whose offsets are given (zeros past the
// end) to k_dst / v_dst + place(j, piece) bytes for token j's 16-byte piece, as one group of
// this thread's copies. A thread always copies the same piece of its rows.
template <int D, class Place>
__device__ __forceinline__ void issue_kv_block(const AttentionArgs& args, const int* offsets,
                                               unsigned char* k_dst, unsigned char* v_dst,
                                               Place place) {
  constexpr int kPieces = D / 8;
  constexpr int kRowsPerPass = kTileThreads / kPieces;
  static_assert(kTileThreads % kPieces == 0 && kTileTokens % kRowsPerPass == 0, "copy shapes");
  const int piece = threadIdx.x % kPieces;
  const int row0 = threadIdx.x / kPieces;
  const bf16* k_piece = args.k_cache + piece * 8;
  const bf16* v_piece = args.v_cache + piece * 8;
#pragma unroll
  for (int pass = 0; pass < kTileTokens / kRowsPerPass; ++pass) {
    const int j = row0 + pass * kRowsPerPass;
    const int row = offsets[j];
    const int bytes = row >= 0 ? 16 : 0;
    const int64_t src = static_cast<int64_t>(max(row, 0)) * D;  // row 0 stands in: nothing read
    const int dst = place(j, piece);
    copy_16_async(k_dst + dst, k_piece + src, bytes);
    copy_16_async(v_dst + dst, v_piece + src, bytes);
  }
  copies_commit();
}

// The KV pipeline of both kernels: block i's K and V arrive in stage i % 2 while block
// i - 1 is computed; its token offsets were found two blocks earlier, in slot i % 3; one
// barrier per block. issue(slot, stage) starts a block's copies (issue_kv_block).
//
// Before block 0 (block-wide): the offsets of blocks 0 and 1, then block 0's copies.
template <int D, class Issue>
__device__ __forceinline__ void kv_pipeline_start(const AttentionArgs& args, const TaskItem& t,
                                                  int kv_stop,
                                                  int (&offsets)[kTileOffsetSlots][kTileTokens],
                                                  Issue issue) {
  if (t.kv_begin >= kv_stop) return;
  find_token_offsets<D>(args, t, t.kv_begin, kv_stop, offsets[0]);
  find_token_offsets<D>(args, t, t.kv_begin + kTileTokens, kv_stop, offsets[1]);
  __syncthreads();
  issue(0, 0);
}

// At the top of block i (block-wide): waits for its copies and publishes them
// (before_barrier runs between the two: the wgmma kernel's proxy fence); every warp has
// then finished block i - 1, so block i + 1's copies go into its stage; block i + 2's
// offsets go into slot (i + 2) % 3, last read issuing block i - 1, before this barrier.
template <int D, class Issue, class BeforeBarrier>
__device__ __forceinline__ void kv_pipeline_step(const AttentionArgs& args, const TaskItem& t,
                                                 int block, int i, int kv_stop,
                                                 int (&offsets)[kTileOffsetSlots][kTileTokens],
                                                 Issue issue, BeforeBarrier before_barrier) {
  copies_wait_pending<0>();
  before_barrier();
  __syncthreads();
  if (block + kTileTokens < kv_stop) issue((i + 1) % kTileOffsetSlots, (i + 1) % 2);
  if (block + 2 * kTileTokens < kv_stop) {
    find_token_offsets<D>(args, t, block + 2 * kTileTokens, kv_stop,
                          offsets[(i + 2) % kTileOffsetSlots]);
  }
}

// O and the softmax state of this thread's rows before the first block.
template <int D>
__device__ __forceinline__ void start_rows(float (&o)[D / 8][4], float (&m)[2], float (&l)[2]) {
  zero_tiles(o);
  m[0] = m[1] = -INFINITY;
  l[0] = l[1] = 0.0f;
}

// Mask (only a block that reaches some row's limit), then the online base-2 softmax of this
// thread's rows over one block's scores s of TILES × 8 keys (becoming P): m, l updated, alpha the
// factor O must be rescaled by. l is this thread's columns only; the quad is summed at the end.
template <int TILES>
__device__ __forceinline__ void tile_softmax(float (&s)[TILES][4], int block, const TileRows& rows,
                                             float (&m)[2], float (&l)[2], float (&alpha)[2]) {
  constexpr int kKeys = 8 * TILES;
  const int lane = threadIdx.x % 32;
  if (block + kKeys > rows.warp_min_limit) {
#pragma unroll
    for (int nt = 0; nt < TILES; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int token = block + nt * 8 + 2 * (lane % 4) + (e & 1);
        if (token >= rows.limit[e / 2]) s[nt][e] = -INFINITY;
      }
    }
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float block_max = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < TILES; ++nt) {
      block_max = fmaxf(block_max, fmaxf(s[nt][2 * h], s[nt][2 * h + 1]));
    }
    block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 1));
    block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 2));
    const float m_new = fmaxf(m[h], block_max);
    const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // all masked so far: p = 0
    alpha[h] = fast_exp2(m[h] - m_use);
    m[h] = m_new;
#pragma unroll
    for (int nt = 0; nt < TILES; ++nt) {
      s[nt][2 * h] = fast_exp2(s[nt][2 * h] - m_use);
      s[nt][2 * h + 1] = fast_exp2(s[nt][2 * h + 1] - m_use);
    }
    // Two sums of alternate tiles: half the chain of dependent adds (the warp's softmax
    // is a latency-bound chain).
    float sums[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nt = 0; nt < TILES; ++nt) sums[nt % 2] += s[nt][2 * h] + s[nt][2 * h + 1];
    const float sum = sums[0] + sums[1];
    l[h] = l[h] * alpha[h] + sum;
  }
}

// O *= alpha per row; once the row maxima settle alpha is 1 and O stays as it is (x · 1 =
// x exactly), so a warp whose alphas are all 1 skips it.
template <int D>
__device__ __forceinline__ void rescale_o(float (&o)[D / 8][4], const float (&alpha)[2]) {
  if (!__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) return;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    o[dt][0] *= alpha[0];
    o[dt][1] *= alpha[0];
    o[dt][2] *= alpha[1];
    o[dt][3] *= alpha[1];
  }
}

// P's A fragment for tokens [16 ks, 16 ks + 16) of a block of TILES × 8: two S tiles side
// by side, as bf16.
template <int TILES>
__device__ __forceinline__ void p_fragment(const float (&s)[TILES][4], int ks, uint32_t (&a)[4]) {
  a[0] = pack_bf16(s[2 * ks][0], s[2 * ks][1]);
  a[1] = pack_bf16(s[2 * ks][2], s[2 * ks][3]);
  a[2] = pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]);
  a[3] = pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3]);
}

// The tile's rows' parts: part_o: [parts, hq, D] f32 (O / l), part_lse: [parts, hq] f32.
template <int D>
__device__ __forceinline__ void write_tile_parts(const AttentionArgs& args, const TaskItem& t,
                                                 const float (&o)[D / 8][4], const float (&m)[2],
                                                 float (&l)[2], const TileRows& rows) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    const int flat = t.flat_row0 + rows.row_a + 8 * h;
    if (flat >= t.flat_rows) continue;
    const bool seen = m[h] != -INFINITY;
    const float inv = seen ? 1.0f / l[h] : 0.0f;
    const int64_t part = t.part_base + flat / t.group;
    const int head = t.kv_head * t.group + flat % t.group;
    float* dst = args.part_o + (part * args.hq + head) * D + 2 * (lane % 4);
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<float2*>(dst + dt * 8) =
          make_float2(o[dt][2 * h] * inv, o[dt][2 * h + 1] * inv);
    }
    if (lane % 4 == 0) {
      args.part_lse[part * args.hq + head] = seen ? m[h] + log2f(l[h]) : -INFINITY;
    }
  }
}

}  // namespace cascade::cuda

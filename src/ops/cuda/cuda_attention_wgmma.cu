// Attention task kernel on Hopper's warpgroup tensor cores (wgmma, sm_90a), for the same
// large tiles as the mma.sync kernel (cuda_attention_mma.cu): 64 flat query rows, head_dim
// 64 or 128, same inputs and outputs, same masking and online softmax
// (cuda_attention_tile.cuh). Built only for sm_90a; the default where available
// (cuda_attention_variant.h).
//
// A block is one warpgroup (4 warps); warp w owns flat rows [16w, 16w + 16). Queries are A
// operands in registers (mma's A fragment layout, which wgmma's register A shares). Per
// block of 64 KV tokens, K and V land in shared memory by cp.async in the 128-byte swizzled
// layout wgmma reads: bands of 64 elements (64 rows × 128 bytes, 1024-byte aligned), the
// 16-byte piece c of row j stored at c ^ (j % 8). S = Q·Kᵀ is D/16 wgmma m64n64k16 with K
// K-major; O += P·V is 4 wgmma m64nDk16 with P from S's accumulators (bf16, as in the mma
// kernel) and V N-major (transposed B).
//
// By default (attention_wgmma_tma_kernel) K and V are fetched by the SM's copy engine
// (TMA, boxes of 16 tokens through tensor maps of the caches, cuda_tensor_map.h) into the
// same swizzled layout, with an mbarrier per stage, instead of by every thread's cp.async
// (attention_wgmma_kernel, also the kernel for page sizes that are not multiples of 16).
// Both have an experimental pipelined form (CASCADE_ATTENTION_KERNEL=wgmma-pipelined):
// each block's softmax overlaps the previous block's P·V.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_wgmma.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_mbarrier.cuh"
#include "ops/cuda/cuda_tensor_map.h"

namespace cascade::cuda {
namespace {

constexpr int kThreads = kTileThreads;  // one warpgroup
constexpr int kTokens = kTileTokens;
constexpr int kStages = 2;
// The copy engine's pipelined kernel: P·V(i - 1) still reads V(i - 1) while block i + 1's
// copies are issued, so a third stage.
constexpr int kPipelinedTmaStages = 3;
constexpr int kBandBytes = kWgmmaBandBytes;
// Blocks per SM: 3 as the mma kernel (167 registers, no spills; 68 KB of shared memory
// each); the pipelined variant holds S, P and O at once: 2.
template <bool PIPELINED>
constexpr int kMinBlocksPerSm = PIPELINED ? 2 : 3;

template <int D, int STAGES = kStages>
struct WgmmaShared {
  static constexpr int kOperandBytes = (D / 64) * kBandBytes;  // one block of K (or V)
  static constexpr int kQueryStride = D + 8;                   // bf16 per staged query row (padded)
  // Stage s: K then V, each band 1024-byte aligned (the swizzle's period).
  alignas(1024) unsigned char kv[STAGES][2][kOperandBytes];
  int token_offset[kTileOffsetSlots][kTokens];  // cache rows (task_token_row), -1 past the end
  int limit[kMmaTileRows];
  uint64_t full[STAGES];  // the copy engine's kernels: stage s's K and V have landed
  static_assert(kMmaTileRows * kQueryStride * 2 <= 2 * kOperandBytes, "query staging fits a stage");
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

template <int D>
__device__ __forceinline__ void issue_kv_block(const AttentionArgs& args, int slot, int stage,
                                               WgmmaShared<D>& sh) {
  issue_kv_block<D>(args, sh.token_offset[slot], sh.kv[stage][0], sh.kv[stage][1],
                    [](int j, int piece) { return swizzled_offset<kTileTokens>(j, piece); });
}

// Copies of one operand (K or V from `cache`) of the block whose cache rows are given
// into `dst`, swizzled, zeros past the end; the caller commits the group.
template <int D>
__device__ __forceinline__ void issue_operand_block(const bf16* cache, const int* rows,
                                                    unsigned char* dst) {
  constexpr int kPieces = D / 8;
  constexpr int kRowsPerPass = kThreads / kPieces;
  const int piece = threadIdx.x % kPieces, row0 = threadIdx.x / kPieces;
  const bf16* cache_piece = cache + piece * 8;
#pragma unroll
  for (int pass = 0; pass < kTokens / kRowsPerPass; ++pass) {
    const int j = row0 + pass * kRowsPerPass;
    const int row = rows[j];
    copy_16_async(dst + swizzled_offset<kTileTokens>(j, piece),
                  cache_piece + static_cast<int64_t>(max(row, 0)) * D, row >= 0 ? 16 : 0);
  }
}

// One KV block of a tile, its K and V in a stage: S = Q · Kᵀ, then while_scores() (runs
// while the tensor cores compute S), the masked online softmax, O += P · V.
template <int D, class WhileScores>
__device__ __forceinline__ void attend_block(const uint32_t (&q)[D / 16][4],
                                             const unsigned char* k_stage,
                                             const unsigned char* v_stage, int block,
                                             const TileRows& rows, float (&o)[D / 8][4],
                                             float (&m)[2], float (&l)[2],
                                             WhileScores while_scores) {
  float s[kTokens / 8][4];

  zero_tiles(s);
  wgmma_fence();
  issue_scores<D>(s, q, k_stage);
  wgmma_commit();
  while_scores();
  wgmma_wait_all();
  fence_registers(s);

  float alpha[2];
  tile_softmax(s, block, rows, m, l, alpha);
  rescale_o<D>(o, alpha);
  uint32_t p[kTokens / 16][4];
#pragma unroll
  for (int ks = 0; ks < kTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
  fence_registers(o);
  wgmma_fence();
  issue_pv<D>(o, p, v_stage);
  wgmma_commit();
  wgmma_wait_all();
  fence_registers(o);
}

// The pipelined kernels' second half of a block, once S(i) has landed (PV(i - 1) may still
// run): the softmax of S(i), then PV(i - 1) awaited, O rescaled and P(i) packed.
template <int D>
__device__ __forceinline__ void softmax_under_pv(float (&s)[kTokens / 8][4], int block,
                                                 const TileRows& rows, float (&o)[D / 8][4],
                                                 float (&m)[2], float (&l)[2],
                                                 uint32_t (&p)[kTokens / 16][4]) {
  fence_registers(s);
  float alpha[2];
  tile_softmax(s, block, rows, m, l, alpha);
  wgmma_wait<0>();  // PV(i - 1)
  fence_registers(o);
  rescale_o<D>(o, alpha);
#pragma unroll
  for (int ks = 0; ks < kTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
}

template <int D>
__device__ __forceinline__ void run_wgmma_item(const AttentionArgs& args, const TaskItem& t,
                                               WgmmaShared<D>& sh) {
  const int kv_begin = t.kv_begin;
  const auto issue = [&](int slot, int stage) { issue_kv_block<D>(args, slot, stage, sh); };
  // Block 0's copies (into stage 0) fly while the queries are rotated.
  const auto start_pipeline = [&](int kv_stop) {
    kv_pipeline_start<D>(args, t, kv_stop, sh.token_offset, issue);
  };
  uint32_t q[D / 16][4];  // staged (padded rows) in stage 1, free again once loaded
  const TileRows rows =
      load_query_tile<D>(args, t, reinterpret_cast<bf16*>(sh.kv[1][0]),
                         WgmmaShared<D>::kQueryStride, sh.limit, q, BlockBarrier{}, start_pipeline);
  const int kv_stop = rows.kv_stop;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  for (int block = kv_begin, i = 0; block < kv_stop; block += kTokens, ++i) {
    kv_pipeline_step<D>(args, t, block, i, kv_stop, sh.token_offset, issue,
                        [] { fence_shared_for_async(); });
    attend_block<D>(q, sh.kv[i % 2][0], sh.kv[i % 2][1], block, rows, o, m, l, [] {});
  }
  keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);  // no item has negative rows
  write_tile_parts<D>(args, t, o, m, l, rows);
}

// The same item with block i's softmax overlapping block i - 1's P · V (FlashAttention-3's
// intra-warpgroup pipelining): per block, S(i) and then PV(i - 1) are issued, S(i) awaited
// (PV(i - 1) still running) and its softmax computed, then PV(i - 1) awaited, O rescaled
// and P(i) packed. V therefore trails K by a block: the copies issued at the top of block i
// are K(i + 1) and V(i), into the stages that S(i - 1) and PV(i - 2) finished reading.
template <int D>
__device__ __forceinline__ void run_wgmma_item_pipelined(const AttentionArgs& args,
                                                         const TaskItem& t, WgmmaShared<D>& sh) {
  const int kv_begin = t.kv_begin;
  uint32_t q[D / 16][4];  // staged (padded rows) in stage 1, free again once loaded
  const TileRows rows = load_query_tile<D>(args, t, reinterpret_cast<bf16*>(sh.kv[1][0]),
                                           WgmmaShared<D>::kQueryStride, sh.limit, q);
  const int kv_stop = rows.kv_stop;
  const int blocks = kv_stop > kv_begin ? (kv_stop - kv_begin + kTokens - 1) / kTokens : 0;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  uint32_t p[kTokens / 16][4] = {};  // P of the block before
  if (blocks > 0) {
    find_token_offsets<D>(args, t, kv_begin, kv_stop, sh.token_offset[0]);
    find_token_offsets<D>(args, t, kv_begin + kTokens, kv_stop, sh.token_offset[1]);
    __syncthreads();
    issue_operand_block<D>(args.k_cache, sh.token_offset[0], sh.kv[0][0]);
    copies_commit();
  }
  for (int i = 0; i < blocks; ++i) {
    const int block = kv_begin + i * kTokens;
    copies_wait_pending<0>();  // K(i) and V(i - 1)
    fence_shared_for_async();
    __syncthreads();
    if (i + 1 < blocks) {
      issue_operand_block<D>(args.k_cache, sh.token_offset[(i + 1) % 3], sh.kv[(i + 1) % 2][0]);
    }
    issue_operand_block<D>(args.v_cache, sh.token_offset[i % 3], sh.kv[i % 2][1]);
    copies_commit();
    // Slot (i + 2) % 3 held block i - 1's offsets, last read issuing V(i - 1).
    if (i + 2 < blocks) {
      find_token_offsets<D>(args, t, block + 2 * kTokens, kv_stop, sh.token_offset[(i + 2) % 3]);
    }

    float s[kTokens / 8][4];

    zero_tiles(s);
    fence_registers(s);
    fence_registers(o);
    fence_registers(p);
    wgmma_fence();
    issue_scores<D>(s, q, sh.kv[i % 2][0]);
    wgmma_commit();
    if (i > 0) {
      issue_pv<D>(o, p, sh.kv[(i - 1) % 2][1]);
      wgmma_commit();
      wgmma_wait<1>();  // S(i); PV(i - 1) may still run
    } else {
      wgmma_wait<0>();
    }
    softmax_under_pv<D>(s, block, rows, o, m, l, p);
  }
  if (blocks > 0) {  // the last block's P · V
    copies_wait_pending<0>();
    fence_shared_for_async();
    __syncthreads();
    fence_registers(o);
    fence_registers(p);
    wgmma_fence();
    issue_pv<D>(o, p, sh.kv[(blocks - 1) % 2][1]);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(o);
  }
  // q and p are wgmma A operands carried around the loop (see keep_live_through_loop).
  keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);
  keep_live_through_loop(p, t.flat_rows < 0, args.part_lse);
  write_tile_parts<D>(args, t, o, m, l, rows);
}

// The KV blocks of an item fetched by the SM's copy engine (TMA) instead of by every
// thread's cp.async: a block of 64 tokens is 4 boxes of 16 (pages hold whole boxes:
// page_size % 16 == 0, and items start at multiples of 16), each box K and V, each band of
// 64 dims, landing already swizzled as wgmma reads it. Lane 0 of warp w issues box w, its
// page found one block ahead so that the load is not waited for, and arrives on full[s]
// expecting its box's bytes (kBoxes arrivals a phase), so the warpgroup's four warps share
// the issuing: with one warp issuing all four boxes, the other three waited for it at the
// warpgroup's first P·V wgmma (20 % of the kernel's stall samples on B2's shared chunks,
// 2026-12-02). This removes the ~215 instructions per thread and block of issuing copies
// by cp.async (22 % of those samples before).
template <int D>
struct TmaKvBlocks {
  static constexpr int kBoxTokens = 16;
  static constexpr int kBoxes = kTileTokens / kBoxTokens;
  static_assert(kBoxes == kThreads / 32, "a box per warp");
  static constexpr int kBoxBytes = kBoxTokens * 128;  // 16 rows of one 64-dim band
  static constexpr int kBands = D / 64;
  const KvTensorMaps& maps;
  const AttentionArgs& args;
  const TaskItem& t;
  int kv_stop;
  int page_ahead = 0;  // lane 0 of each warp: the page of its box of the next block

  __device__ __forceinline__ static int box() { return static_cast<int>(threadIdx.x) / 32; }
  __device__ __forceinline__ static bool issuer() { return threadIdx.x % 32 == 0; }
  // Lane 0 of each warp: the page of its box in the block at `block`.
  __device__ __forceinline__ int box_page(int block) const {
    const int token = block + box() * kBoxTokens;
    return token < kv_stop ? t.pages[static_cast<unsigned>(token) / args.page_size] : 0;
  }
  __device__ __forceinline__ void look_ahead(int block) {
    if (issuer()) page_ahead = box_page(block);
  }
  // Lane 0 of each warp: its box of the block at `block` (whose page look_ahead found) into
  // `stage`, or, past kv_stop, an arrival expecting nothing.
  template <int STAGES>
  __device__ __forceinline__ void issue(int block, WgmmaShared<D, STAGES>& sh, int stage) const {
    if (!issuer()) return;
    const int token = block + box() * kBoxTokens;
    const bool copies = token < kv_stop;
    mbarrier_arrive_expect_bytes(&sh.full[stage], copies ? 2 * kBands * kBoxBytes : 0);
    if (!copies) return;
    const int cache_token = page_ahead * args.page_size +
                            static_cast<int>(static_cast<unsigned>(token) % args.page_size);
#pragma unroll
    for (int band = 0; band < kBands; ++band) {
      const int offset = band * kWgmmaBandBytes + box() * kBoxBytes;
      tensor_box_to_shared(sh.kv[stage][0] + offset, &maps.k, band * 64, t.kv_head, cache_token,
                           &sh.full[stage]);
      tensor_box_to_shared(sh.kv[stage][1] + offset, &maps.v, band * 64, t.kv_head, cache_token,
                           &sh.full[stage]);
    }
  }
};

// V rows [valid, kTileTokens) of a stage as zeros: past the item's end a box holds the
// rest of its page (stale, maybe not finite) or was not fetched, and P = 0 must not meet a
// NaN. (K needs nothing: those keys' scores are masked.)
template <int D>
__device__ __forceinline__ void zero_v_rows(unsigned char* v_stage, int valid) {
  constexpr int kPieces = D / 8;
  for (int u = static_cast<int>(threadIdx.x); u < (kTileTokens - valid) * kPieces; u += kThreads) {
    const int j = valid + u / kPieces;
    *reinterpret_cast<uint4*>(v_stage + swizzled_offset<kTileTokens>(j, u % kPieces)) =
        make_uint4(0, 0, 0, 0);
  }
}

// The start of an item on the copy engine's kernels: its queries rotated into q (staged in
// `staging_stage`) while block 0's boxes fly into `first_stage`, and block 1's page found.
template <int D, int STAGES>
__device__ __forceinline__ TileRows start_tma_item(const AttentionArgs& args, const TaskItem& t,
                                                   WgmmaShared<D, STAGES>& sh, TmaKvBlocks<D>& kv,
                                                   int first_stage, int staging_stage,
                                                   uint32_t (&q)[D / 16][4]) {
  const int kv_begin = t.kv_begin;
  const auto start_pipeline = [&](int kv_stop) {
    kv.kv_stop = kv_stop;
    if (kv_begin >= kv_stop) return;
    kv.look_ahead(kv_begin);
    kv.issue(kv_begin, sh, first_stage);
    kv.look_ahead(kv_begin + kTokens);
  };
  const TileRows rows = load_query_tile<D>(
      args, t, reinterpret_cast<bf16*>(sh.kv[staging_stage][0]),
      WgmmaShared<D, STAGES>::kQueryStride, sh.limit, q, BlockBarrier{}, start_pipeline);
  fence_shared_for_async();  // the staging's writes before block 1's copies land there
  return rows;
}

// run_wgmma_item with the copy engine fetching K and V (TmaKvBlocks). `fills` counts the
// blocks this thread block has fetched before this item: block n goes to stage n % 2 and
// is the (n / 2)-th phase of its barrier.
template <int D>
__device__ __forceinline__ void run_wgmma_item_tma(const AttentionArgs& args,
                                                   const KvTensorMaps& maps, const TaskItem& t,
                                                   WgmmaShared<D>& sh, uint32_t& fills) {
  const int kv_begin = t.kv_begin;
  const int first_stage = static_cast<int>(fills % 2);
  TmaKvBlocks<D> kv{maps, args, t, 0};
  uint32_t q[D / 16][4];  // staged in the other stage
  const TileRows rows = start_tma_item<D>(args, t, sh, kv, first_stage, first_stage ^ 1, q);
  const int kv_stop = rows.kv_stop;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  uint32_t n = fills;
  for (int block = kv_begin; block < kv_stop; block += kTokens, ++n) {
    const int stage = static_cast<int>(n % 2);
    mbarrier_wait(&sh.full[stage], (n / 2) % 2);
    if (block + kTokens > kv_stop) {
      zero_v_rows<D>(sh.kv[stage][1], kv_stop - block);
      fence_shared_for_async();
    }
    __syncthreads();  // every warp is done with the other stage (block - 1)
    // The next block's copies are issued while S is computed: before it, their issuing held
    // the warpgroup's first wgmma (all 4 warps meet there), ~21 % of the stall samples.
    attend_block<D>(q, sh.kv[stage][0], sh.kv[stage][1], block, rows, o, m, l, [&] {
      if (block + kTokens >= kv_stop) return;
      kv.issue(block + kTokens, sh, stage ^ 1);
      kv.look_ahead(block + 2 * kTokens);
    });
  }
  fills = n;
  keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);  // no item has negative rows
  write_tile_parts<D>(args, t, o, m, l, rows);
}

// run_wgmma_item_tma with block i's softmax overlapping block i - 1's P·V, as
// run_wgmma_item_pipelined does with cp.async: per block, S(i) and then PV(i - 1) are
// issued, S(i) awaited (PV(i - 1) still running) and its softmax computed, then PV(i - 1)
// awaited, O rescaled and P(i) packed. Block n of this thread block lands in stage n % 3
// (phase n / 3 of its barrier): the copies of block i + 1, issued while S(i) and PV(i - 1)
// run, go into the stage whose last reader, PV(i - 2), every warp awaited in block i - 1.
template <int D>
__device__ __forceinline__ void run_wgmma_item_tma_pipelined(
    const AttentionArgs& args, const KvTensorMaps& maps, const TaskItem& t,
    WgmmaShared<D, kPipelinedTmaStages>& sh, uint32_t& fills) {
  constexpr int kRing = kPipelinedTmaStages;
  const int kv_begin = t.kv_begin;
  const int first_stage = static_cast<int>(fills % kRing);
  TmaKvBlocks<D> kv{maps, args, t, 0};
  uint32_t q[D / 16][4];  // staged in block 1's stage
  const TileRows rows =
      start_tma_item<D>(args, t, sh, kv, first_stage, (first_stage + 1) % kRing, q);
  const int kv_stop = rows.kv_stop;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  uint32_t p[kTokens / 16][4] = {};  // P of the block before
  int before = 0;                    // the stage of the block before
  uint32_t n = fills;
  for (int block = kv_begin; block < kv_stop; block += kTokens, ++n) {
    const int stage = static_cast<int>(n % kRing);
    mbarrier_wait(&sh.full[stage], (n / kRing) % 2);
    if (block + kTokens > kv_stop) {
      zero_v_rows<D>(sh.kv[stage][1], kv_stop - block);
      fence_shared_for_async();
    }
    __syncthreads();  // every warp has awaited PV(i - 2): its stage takes block i + 1

    float s[kTokens / 8][4];
    zero_tiles(s);
    fence_registers(s);
    fence_registers(o);
    fence_registers(p);
    wgmma_fence();
    issue_scores<D>(s, q, sh.kv[stage][0]);
    wgmma_commit();
    // The next block's copies while the tensor cores run.
    const auto issue_next = [&] {
      if (block + kTokens >= kv_stop) return;
      kv.issue(block + kTokens, sh, static_cast<int>((n + 1) % kRing));
      kv.look_ahead(block + 2 * kTokens);
    };
    if (block > kv_begin) {
      issue_pv<D>(o, p, sh.kv[before][1]);
      wgmma_commit();
      issue_next();
      wgmma_wait<1>();  // S(i); PV(i - 1) may still run
    } else {
      issue_next();
      wgmma_wait<0>();
    }
    softmax_under_pv<D>(s, block, rows, o, m, l, p);
    before = stage;
  }
  if (kv_begin < kv_stop) {  // the last block's P·V
    fence_registers(o);
    fence_registers(p);
    wgmma_fence();
    issue_pv<D>(o, p, sh.kv[before][1]);
    wgmma_commit();
    wgmma_wait<0>();
    fence_registers(o);
  }
  fills = n;
  // q and p are wgmma A operands carried around the loop (see keep_live_through_loop).
  keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);
  keep_live_through_loop(p, t.flat_rows < 0, args.part_lse);
  write_tile_parts<D>(args, t, o, m, l, rows);
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

template <int D, int STAGES = kStages>
constexpr int wgmma_shared_bytes() {
  return static_cast<int>(sizeof(WgmmaShared<D, STAGES>)) + 1024;  // + aligning the dynamic base
}

template <bool PIPELINED>
constexpr int kTmaStages = PIPELINED ? kPipelinedTmaStages : kStages;

// The large work items with K and V fetched by the copy engine (run_wgmma_item_tma, or
// run_wgmma_item_tma_pipelined).
template <int D, bool PIPELINED>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm<PIPELINED>)
    attention_wgmma_tma_kernel(const AttentionArgs args,
                               const __grid_constant__ KvTensorMaps maps) {
  wait_prior_grids();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using Shared = WgmmaShared<D, kTmaStages<PIPELINED>>;
  extern __shared__ unsigned char shared_bytes[];
  const uint32_t misalign = shared_address(shared_bytes) % 1024;
  auto& sh = *reinterpret_cast<Shared*>(shared_bytes + (1024 - misalign) % 1024);
  if (threadIdx.x == 0) {
    for (uint64_t& bar : sh.full) mbarrier_init(&bar, TmaKvBlocks<D>::kBoxes);
    mbarrier_init_fence();
  }
  __syncthreads();
  const WorkView w{args.work};
  const int count = w.count(kWorkNumLarge);
  uint32_t fills = 0;
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    const TaskItem item = load_task_item(args, w, w[kWorkLargeItems], i);
    if constexpr (PIPELINED) {
      run_wgmma_item_tma_pipelined<D>(args, maps, item, sh, fills);
    } else {
      run_wgmma_item_tma<D>(args, maps, item, sh, fills);
    }
    __syncthreads();  // the next item reuses shared memory
  }
#else
  __trap();  // not built for sm_90a: attention_wgmma_available() is false, never launched
#endif
}

// The large work items, block x taking items x, x + grid, ...
template <int D, bool PIPELINED>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm<PIPELINED>)
    attention_wgmma_kernel(const AttentionArgs args) {
  wait_prior_grids();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char shared_bytes[];
  const uint32_t misalign = shared_address(shared_bytes) % 1024;
  auto& sh = *reinterpret_cast<WgmmaShared<D>*>(shared_bytes + (1024 - misalign) % 1024);
  const WorkView w{args.work};
  const int count = w.count(kWorkNumLarge);
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    const TaskItem item = load_task_item(args, w, w[kWorkLargeItems], i);
    if constexpr (PIPELINED) {
      run_wgmma_item_pipelined<D>(args, item, sh);
    } else {
      run_wgmma_item<D>(args, item, sh);
    }
    __syncthreads();  // the next item reuses shared memory
  }
#else
  __trap();  // not built for sm_90a: attention_wgmma_available() is false, never launched
#endif
}

// On by default (used where available); set_attention_wgmma, CASCADE_ATTENTION_KERNEL at
// backend creation. Atomic: tensor-parallel ranks create their backends and launch
// attention from threads of their own.
std::atomic<bool> use_wgmma = true;
std::atomic<bool> use_pipelined = false;  // experimental: CASCADE_ATTENTION_KERNEL=wgmma-pipelined
// K and V by the copy engine where the pages hold whole 16-token boxes; off
// (CASCADE_ATTENTION_KERNEL=wgmma-cp-async, set_attention_wgmma_tma) every thread copies.
std::atomic<bool> use_tma = true;

template <int D>
void launch_wgmma(const AttentionArgs& args, dim3 grid, bool pipelined, cudaStream_t stream) {
  // Items start at multiples of AttentionWorkShape::chunk_multiple (128): of 16 too.
  if (use_tma && args.page_size % 16 == 0) {
    if (pipelined) {
      launch("attention_wgmma_tma_kernel", attention_wgmma_tma_kernel<D, true>, grid, kThreads,
             wgmma_shared_bytes<D, kTmaStages<true>>(), stream, args, kv_tensor_maps(args));
    } else {
      launch("attention_wgmma_tma_kernel", attention_wgmma_tma_kernel<D, false>, grid, kThreads,
             wgmma_shared_bytes<D>(), stream, args, kv_tensor_maps(args));
    }
    return;
  }
  launch("attention_wgmma_kernel",
         pipelined ? attention_wgmma_kernel<D, true> : attention_wgmma_kernel<D, false>, grid,
         kThreads, wgmma_shared_bytes<D>(), stream, args);
}

}  // namespace

bool attention_wgmma_available() {
#if defined(CASCADE_CUDA_WGMMA)
  // sm_90a machine code runs on compute capability 9.0 only; later GPUs load the PTX.
  static const bool hopper = [] {
    int device = 0, major = 0, minor = 0;
    return cudaGetDevice(&device) == cudaSuccess &&
           cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) ==
               cudaSuccess &&
           cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) ==
               cudaSuccess &&
           major == 9 && minor == 0;
  }();
  return hopper;
#else
  return false;
#endif
}

bool attention_wgmma_enabled() {
  return use_wgmma && attention_wgmma_available();
}

void set_attention_wgmma(bool on) {
  check(!on || attention_wgmma_available(),
        "attention: no wgmma kernel here (it needs a build with CMAKE_CUDA_ARCHITECTURES 90a "
        "and a GPU of compute capability 9.0)");
  use_wgmma = on;
}

void set_attention_wgmma_tma(bool on) {
  use_tma = on;
}

bool attention_wgmma_tma_enabled() {
  return use_tma;
}

void set_attention_wgmma_pipelined(bool on) {
  if (on) set_attention_wgmma(true);
  use_pipelined = on;
}

void prepare_attention_wgmma_kernels() {
  if (const char* kernel = std::getenv("CASCADE_ATTENTION_KERNEL")) {
    const std::string name = kernel;
    check(name == "mma" || name == "wgmma" || name == "wgmma-cp-async" ||
              name == "wgmma-pipelined" || name == "wgmma-ws",
          [&] {
            return "CASCADE_ATTENTION_KERNEL: expected mma, wgmma, wgmma-cp-async, "
                   "wgmma-pipelined or wgmma-ws, got '" +
                   name + "'";
          });
    set_attention_wgmma(name != "mma");
    set_attention_wgmma_tma(name != "wgmma-cp-async");
    set_attention_wgmma_pipelined(name == "wgmma-pipelined");
    if (name == "wgmma-ws") set_attention_wgmma_ws_min_rows(0);
  }
  // Read once per backend like the kernel's name: the steps whose large tiles take the
  // warp-specialized kernel.
  constexpr int kMostRows = 1 << 30;
  set_attention_wgmma_ws_min_rows(
      env_int("CASCADE_ATTENTION_WS_MIN_ROWS", attention_wgmma_ws_min_rows(), -1, kMostRows));
  if (!attention_wgmma_available()) return;
  const auto allow_shared = [](auto kernel, int bytes) {
    CASCADE_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  };
  allow_shared(attention_wgmma_kernel<64, false>, wgmma_shared_bytes<64>());
  allow_shared(attention_wgmma_kernel<128, false>, wgmma_shared_bytes<128>());
  allow_shared(attention_wgmma_kernel<64, true>, wgmma_shared_bytes<64>());
  allow_shared(attention_wgmma_kernel<128, true>, wgmma_shared_bytes<128>());
  allow_shared(attention_wgmma_tma_kernel<64, false>, wgmma_shared_bytes<64>());
  allow_shared(attention_wgmma_tma_kernel<128, false>, wgmma_shared_bytes<128>());
  allow_shared(attention_wgmma_tma_kernel<64, true>, wgmma_shared_bytes<64, kTmaStages<true>>());
  allow_shared(attention_wgmma_tma_kernel<128, true>, wgmma_shared_bytes<128, kTmaStages<true>>());
}

int attention_wgmma_blocks_per_sm(int d) {
  if (!attention_wgmma_enabled() || (d != 64 && d != 128)) return 0;
  const bool pipelined = use_pipelined, tma = use_tma;
  // Per (head_dim, copies, pipelining): the occupancy query costs microseconds per step.
  static std::atomic<int> known[2][2][2] = {};
  std::atomic<int>& slot = known[d == 128][tma][pipelined];
  if (const int blocks = slot.load(); blocks > 0) return blocks;
  const auto resident = [](auto kernel, int bytes) {
    int blocks = 0;
    CASCADE_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, kThreads, bytes));
    return blocks;
  };
  const auto of_dim = [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    if (tma) {
      return pipelined ? resident(attention_wgmma_tma_kernel<D, true>,
                                  wgmma_shared_bytes<D, kTmaStages<true>>())
                       : resident(attention_wgmma_tma_kernel<D, false>, wgmma_shared_bytes<D>());
    }
    return pipelined ? resident(attention_wgmma_kernel<D, true>, wgmma_shared_bytes<D>())
                     : resident(attention_wgmma_kernel<D, false>, wgmma_shared_bytes<D>());
  };
  const int blocks = d == 64 ? of_dim(std::integral_constant<int, 64>{})
                             : of_dim(std::integral_constant<int, 128>{});
  slot = blocks;
  return blocks;
}

void attention_wgmma_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream) {
  if (blocks == 0) return;
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(args.hkv));
  const bool pipelined = use_pipelined;
  switch (args.d) {
    case 64:
      launch_wgmma<64>(args, grid, pipelined, stream);
      break;
    case 128:
      launch_wgmma<128>(args, grid, pipelined, stream);
      break;
    default:
      throw Error("attention: no wgmma kernel for head_dim " + std::to_string(args.d));
  }
  CASCADE_CUDA_CHECK_LAUNCH("attention_wgmma_kernel");
}

}  // namespace cascade::cuda

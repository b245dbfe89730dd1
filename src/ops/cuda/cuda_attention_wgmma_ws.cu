// Attention's large tiles on Hopper with warp specialization (sm_90a; for steps of at least
// attention_wgmma_ws_min_rows() query rows), after FlashAttention-3's schedule. A block of three
// warpgroups runs tiles of 128 flat query rows: warpgroup 0 copies the KV blocks of 128
// tokens (cp.async, in the swizzled layout of cuda_attention_wgmma.cuh) into two rings of
// two stages, one for K and one for V; warpgroups 1 and 2 each own 64 of the rows and both
// read every stage, so a KV block crosses from L2 once per 128 rows and the copies cost
// the computing warps no issue slots. The copying warpgroup hands registers to the
// computing ones (setmaxnreg: 40 and 232 per thread), which hold S and P of a 128-key
// block besides O and Q and overlap each block's softmax with the previous block's P · V:
// per block i, S(i) = Q·K(i)ᵀ and O += P(i-1)·V(i-1) are issued together, S(i) awaited
// and its softmax computed while P · V runs, then O rescaled and P(i) packed.
//
// Hand-over per stage through mbarriers: `full` (each of the 128 copying threads is
// counted once its copies have landed; the computing threads then fence them for wgmma's
// reads) and `empty` (the 256 computing threads arrive once wgmma has read the stage: K
// after S(i), V after P·V(i)). Blocks loop over the items (a persistent grid, one block
// per SM), and both roles walk the same items and KV blocks in the same order, so a ring
// position is a count of blocks: the copies of an item's first blocks overlap the previous
// item's last.
//
// Its first version (64-key blocks, one ring, no register hand-over, no overlap) was
// correct and slower than the one-warpgroup kernel (docs/BENCHMARKS.md, 2026-11-30), and
// so was this one with cp.async copies (0.131 vs 0.082 ms on B2's shared chunks,
// 2026-12-02): 128 copying threads at 40 registers, each looking up a page per token
// piece, likely cannot keep two computing warpgroups fed. Where page sizes are multiples
// of 16, the copying warpgroup now has the copy engine fetch the blocks instead
// (copy_items_tma: 8 lanes, a 16-token box each; 0.089 ms, and B4's cold prefill of 16,448
// rows 121 -> 111 ms against the one-warpgroup kernel, measured 2026-12-02).
#include <algorithm>
#include <atomic>
#include <string>

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

constexpr int kConsumers = 2;
constexpr int kThreads = kTileThreads * (1 + kConsumers);
constexpr int kBlockTokens = 128;  // KV tokens per block (S is 64 × 128 per warpgroup)
constexpr int kStages = 2;         // per ring (K, V)

template <int D>
struct WsShared {
  static constexpr int kOperandBytes = (D / 64) * kBlockTokens * 128;  // a block of K (or V)
  static constexpr int kQueryStride = D + 8;  // bf16 per staged query row (padded)
  // Bands 1024-byte aligned (the swizzle's period).
  alignas(1024) unsigned char k[kStages][kOperandBytes];
  alignas(1024) unsigned char v[kStages][kOperandBytes];
  alignas(16) bf16 query[kConsumers][kMmaTileRows * kQueryStride];
  int limit[kConsumers][kMmaTileRows];
  uint64_t k_full[kStages], k_empty[kStages];
  uint64_t v_full[kStages], v_empty[kStages];
};

template <int D>
constexpr int ws_shared_bytes() {
  return static_cast<int>(sizeof(WsShared<D>)) + 1024;  // + aligning the dynamic base
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// setmaxnreg: 128 × 40 + 256 × 232 = 384 × 168, the register file at one block per SM.
constexpr int kCopyRegisters = 40;
constexpr int kComputeRegisters = 232;

// Warp-wide: the end of the KV tokens any of the item's kWsTileRows rows sees (at least
// kv_begin). Both roles compute it, so they agree on the item's blocks.
__device__ __forceinline__ int tile_kv_stop(const AttentionArgs& args, const TaskItem& t) {
  int stop = t.kv_begin;
  for (int r = static_cast<int>(threadIdx.x % 32); r < kWsTileRows; r += 32) {
    stop = max(stop, task_row_limit(args, t, t.flat_row0 + r));
  }
  return __reduce_max_sync(0xffffffffu, stop);
}

__device__ __forceinline__ int blocks_between(int begin, int stop) {
  return stop > begin ? (stop - begin + kBlockTokens - 1) / kBlockTokens : 0;
}

// Ring position n (the n-th block since the kernel began): its stage, and the parity of
// its round that `full` completes.
__device__ __forceinline__ int stage_of(uint32_t n) {
  return static_cast<int>(n % kStages);
}
__device__ __forceinline__ uint32_t round_parity(uint32_t n) {
  return (n / kStages) & 1u;
}

// One operand (K or V from `cache`) of the block at `block` into `dst`, zeros from `stop`.
template <int D>
__device__ __forceinline__ void copy_operand(const AttentionArgs& args, const TaskItem& t,
                                             const bf16* cache, int block, int stop,
                                             unsigned char* dst) {
  constexpr int kPieces = D / 8;  // 16-byte pieces per token row
  constexpr int kRowsPerPass = kTileThreads / kPieces;
  const int piece = static_cast<int>(threadIdx.x) % kPieces;
  const int row0 = static_cast<int>(threadIdx.x) / kPieces;
#pragma unroll 4
  for (int pass = 0; pass < kBlockTokens / kRowsPerPass; ++pass) {
    const int j = row0 + pass * kRowsPerPass, token = block + j;
    const bool inside = token < stop;
    const int64_t src = inside ? task_token_offset(args, t, token, D) + piece * 8 : 0;
    copy_16_async(dst + swizzled_offset<kBlockTokens>(j, piece), cache + src, inside ? 16 : 0);
  }
}

// The copying warpgroup's walk: visit(item, block, stop, n) for every KV block of every
// item of this thread block, in the order the computing warpgroups take them (n: the
// ring position, the count of blocks before it).
template <class Visit>
__device__ __forceinline__ void for_each_kv_block(const AttentionArgs& args, const WorkView& w,
                                                  Visit visit) {
  const int count = w.count(kWorkNumLarge);
  uint32_t n = 0;
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    const TaskItem t = load_task_item(args, w, w[kWorkLargeItems], i);
    const int stop = tile_kv_stop(args, t);
    for (int block = t.kv_begin; block < stop; block += kBlockTokens, ++n) visit(t, block, stop, n);
  }
}

// Warpgroup 0: every item's KV blocks into the rings, K then V of each block. Never waits
// for its copies: `full` counts a thread once its copies have landed.
template <int D>
__device__ __forceinline__ void copy_items(const AttentionArgs& args, const WorkView& w,
                                           WsShared<D>& sh) {
  release_registers_to<kCopyRegisters>();
  for_each_kv_block(args, w, [&](const TaskItem& t, int block, int stop, uint32_t n) {
    const int stage = stage_of(n);
    mbarrier_wait(&sh.k_empty[stage], round_parity(n) ^ 1u);
    copy_operand<D>(args, t, args.k_cache, block, stop, sh.k[stage]);
    mbarrier_arrive_when_copied(&sh.k_full[stage]);
    mbarrier_wait(&sh.v_empty[stage], round_parity(n) ^ 1u);
    copy_operand<D>(args, t, args.v_cache, block, stop, sh.v[stage]);
    mbarrier_arrive_when_copied(&sh.v_full[stage]);
  });
}

// The copying warpgroup with the copy engine (TMA): lanes 0..7 of its first warp each
// take a 16-token box of the block (page_size % 16 == 0), K and V of every 64-dim band,
// through the caches' tensor maps (cuda_tensor_map.h). A `full` barrier completes when
// all its copyists have arrived (kFullArrivals: the 128 threads, and the issuing lane once
// more with the bytes to expect) and the bytes have landed. The block's V, where it
// reaches past the tile's end, is copied by cp.async instead (zeros past the end: a box
// would bring the rest of its page, maybe not finite, and P = 0 must not meet a NaN).
constexpr int kBoxTokens = 16;
constexpr int kBoxBytes = kBoxTokens * 128;  // 16 rows of one 64-dim band
constexpr int kFullArrivals = kTileThreads + 1;

// Warp 0 (lanes 0..7 issue): box `lane` of the block at `block`, which starts at cache
// token `cache_token`, from `cache_map` into `dst`, counted on `full`; lane 0 first
// expects the bytes of the boxes that start before `stop`.
template <int D>
__device__ __forceinline__ void issue_boxes(const CUtensorMap* cache_map, int kv_head,
                                            int cache_token, int block, int stop,
                                            unsigned char* dst, uint64_t* full) {
  constexpr int kBands = D / 64;
  const int lane = static_cast<int>(threadIdx.x);
  const int boxes = min(kBlockTokens, stop - block + kBoxTokens - 1) / kBoxTokens;
  if (lane == 0) mbarrier_arrive_expect_bytes(full, boxes * kBands * kBoxBytes);
  __syncwarp();
  if (lane >= boxes) return;
#pragma unroll
  for (int band = 0; band < kBands; ++band) {
    tensor_box_to_shared(dst + band * kBlockTokens * 128 + lane * kBoxBytes, cache_map, band * 64,
                         kv_head, cache_token, full);
  }
}

template <int D>
__device__ __forceinline__ void copy_items_tma(const AttentionArgs& args, const KvTensorMaps& maps,
                                               const WorkView& w, WsShared<D>& sh) {
  release_registers_to<kCopyRegisters>();
  const int thread = static_cast<int>(threadIdx.x);
  for_each_kv_block(args, w, [&](const TaskItem& t, int block, int stop, uint32_t n) {
    const int stage = stage_of(n);
    // Lanes 0..7 of warp 0: the cache token (page row) that starts their box.
    int cache_token = 0;
    const int token = block + thread * kBoxTokens;
    if (thread < kBlockTokens / kBoxTokens && token < stop) {
      const auto u = static_cast<unsigned>(token),
                 page_size = static_cast<unsigned>(args.page_size);
      cache_token = t.pages[u / page_size] * args.page_size + static_cast<int>(u % page_size);
    }
    mbarrier_wait(&sh.k_empty[stage], round_parity(n) ^ 1u);
    if (thread < 32) {
      issue_boxes<D>(&maps.k, t.kv_head, cache_token, block, stop, sh.k[stage], &sh.k_full[stage]);
    }
    mbarrier_arrive(&sh.k_full[stage]);
    mbarrier_wait(&sh.v_empty[stage], round_parity(n) ^ 1u);
    if (block + kBlockTokens <= stop) {
      if (thread < 32) {
        issue_boxes<D>(&maps.v, t.kv_head, cache_token, block, stop, sh.v[stage],
                       &sh.v_full[stage]);
      }
      mbarrier_arrive(&sh.v_full[stage]);
    } else {
      copy_operand<D>(args, t, args.v_cache, block, stop, sh.v[stage]);
      if (thread == 0) mbarrier_arrive(&sh.v_full[stage]);  // no bytes to expect
      mbarrier_arrive_when_copied(&sh.v_full[stage]);
    }
  });
}

// Waits until the K (or V) of ring position n has landed (the caller then fences it for
// wgmma).
__device__ __forceinline__ void wait_landed(uint64_t* full, uint32_t n) {
  mbarrier_wait(&full[stage_of(n)], round_parity(n));
}

// FlashAttention-3's ping-pong (ON; experimental, CASCADE_ATTENTION_WS_PINGPONG=1): the two
// computing warpgroups take turns issuing their wgmmas, so that one's softmax runs while
// the other's products hold the tensor cores, instead of both meeting there at once.
// Warpgroup c waits at barrier kTurnBarrier + c for its turn, issues, and hands the turn
// over by arriving at the other's barrier. Each warpgroup takes a turn per KV block of an
// item and one more (the last P · V), whether its rows see the block or not, so both take
// the same number and every hand-over is met; warpgroup 1 gives warpgroup 0 the first
// turn, and warpgroup 0 takes a last one after its items to meet warpgroup 1's last
// hand-over.
constexpr int kTurnBarrier = 3;  // barriers 1 and 2: each computing warpgroup's own

template <bool ON>
struct Turns {
  int c = 0;  // the computing warpgroup: 0 or 1
  __device__ __forceinline__ void take() const {
    if constexpr (ON) named_barrier(kTurnBarrier + c, kConsumers * kTileThreads);
  }
  __device__ __forceinline__ void pass() const {
    if constexpr (ON) named_barrier_arrive(kTurnBarrier + (1 - c), kConsumers * kTileThreads);
  }
  // Before the first item: warpgroup 1 gives warpgroup 0 its first turn.
  __device__ __forceinline__ void start() const {
    if (c == 1) pass();
  }
  // After the last item: warpgroup 0 meets warpgroup 1's last hand-over.
  __device__ __forceinline__ void finish() const {
    if (c == 0) take();
  }
  // A turn that issues nothing (a block past this warpgroup's rows).
  __device__ __forceinline__ void skip() const {
    take();
    pass();
  }
};

// Computing warpgroup, block 0 of its rows: S(0) and its softmax (no P · V before it).
template <int D, bool PINGPONG>
__device__ __forceinline__ void first_block(WsShared<D>& sh, Turns<PINGPONG> turns, uint32_t n,
                                            int block, const TileRows& rows,
                                            const uint32_t (&q)[D / 16][4], float (&o)[D / 8][4],
                                            float (&m)[2], float (&l)[2],
                                            uint32_t (&p)[kBlockTokens / 16][4]) {
  wait_landed(sh.k_full, n);
  fence_shared_for_async();  // the copies (generic proxy) before wgmma's reads
  float s[kBlockTokens / 8][4];
  zero_tiles(s);
  turns.take();
  wgmma_fence();
  issue_scores<D, kBlockTokens>(s, q, sh.k[stage_of(n)]);
  wgmma_commit();
  turns.pass();
  wgmma_wait<0>();
  fence_registers(s);
  mbarrier_arrive(&sh.k_empty[stage_of(n)]);
  float alpha[2];
  tile_softmax(s, block, rows, m, l, alpha);
  rescale_o<D>(o, alpha);
#pragma unroll
  for (int ks = 0; ks < kBlockTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
}

// Block i > 0 of its rows: S(i) and O += P(i - 1) · V(i - 1) issued together, S(i)'s
// softmax while P · V runs, then O rescaled and P(i) packed.
template <int D, bool PINGPONG>
__device__ __forceinline__ void next_block(WsShared<D>& sh, Turns<PINGPONG> turns, uint32_t n,
                                           int block, const TileRows& rows,
                                           const uint32_t (&q)[D / 16][4], float (&o)[D / 8][4],
                                           float (&m)[2], float (&l)[2],
                                           uint32_t (&p)[kBlockTokens / 16][4]) {
  const uint32_t before = n - 1;
  wait_landed(sh.k_full, n);
  wait_landed(sh.v_full, before);
  fence_shared_for_async();
  float s[kBlockTokens / 8][4];
  zero_tiles(s);
  fence_registers(o);
  fence_registers(p);
  turns.take();
  wgmma_fence();
  issue_scores<D, kBlockTokens>(s, q, sh.k[stage_of(n)]);
  wgmma_commit();
  issue_pv<D, kBlockTokens>(o, p, sh.v[stage_of(before)]);
  wgmma_commit();
  turns.pass();
  wgmma_wait<1>();  // S(i); P · V(i - 1) may still run
  fence_registers(s);
  mbarrier_arrive(&sh.k_empty[stage_of(n)]);
  float alpha[2];
  tile_softmax(s, block, rows, m, l, alpha);
  wgmma_wait<0>();  // P · V(i - 1)
  fence_registers(o);
  mbarrier_arrive(&sh.v_empty[stage_of(before)]);
  rescale_o<D>(o, alpha);
#pragma unroll
  for (int ks = 0; ks < kBlockTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
}

// After the last block of its rows: O += P · V of that block.
template <int D, bool PINGPONG>
__device__ __forceinline__ void last_pv(WsShared<D>& sh, Turns<PINGPONG> turns, uint32_t n,
                                        float (&o)[D / 8][4], uint32_t (&p)[kBlockTokens / 16][4]) {
  wait_landed(sh.v_full, n);
  fence_shared_for_async();
  fence_registers(o);
  fence_registers(p);
  turns.take();
  wgmma_fence();
  issue_pv<D, kBlockTokens>(o, p, sh.v[stage_of(n)]);
  wgmma_commit();
  turns.pass();
  wgmma_wait<0>();
  fence_registers(o);
  mbarrier_arrive(&sh.v_empty[stage_of(n)]);
}

// Warpgroups 1 and 2: rows [64 c, 64 c + 64) of every item's tile, c = warpgroup - 1. A
// warpgroup passes every block of the tile (waits for it, releases it) but computes only
// the blocks its own rows see (the first `own`). No wgmma is issued on a conditional path
// inside the loop: ptxas would then serialize them all. PINGPONG: the two take turns at
// issuing (Turns).
template <int D, bool PINGPONG>
__device__ __forceinline__ void compute_items(const AttentionArgs& args, const WorkView& w,
                                              WsShared<D>& sh) {
  claim_registers_up_to<kComputeRegisters>();
  const int c = static_cast<int>(threadIdx.x) / kTileThreads - 1;
  const auto barrier = [c] { named_barrier(1 + c, kTileThreads); };
  const Turns<PINGPONG> turns{c};
  turns.start();
  const int count = w.count(kWorkNumLarge);
  uint32_t n0 = 0;  // ring position of the item's first block
  for (int item = static_cast<int>(blockIdx.x); item < count; item += static_cast<int>(gridDim.x)) {
    TaskItem t = load_task_item(args, w, w[kWorkLargeItems], item);
    const int blocks = blocks_between(t.kv_begin, tile_kv_stop(args, t));
    t.flat_row0 += c * kMmaTileRows;
    uint32_t q[D / 16][4];
    const TileRows rows = load_query_tile<D>(args, t, sh.query[c], WsShared<D>::kQueryStride,
                                             sh.limit[c], q, barrier);
    const int own = blocks_between(t.kv_begin, rows.kv_stop);  // uniform over the warpgroup
    float o[D / 8][4], m[2], l[2];
    start_rows<D>(o, m, l);
    uint32_t p[kBlockTokens / 16][4];  // P of the block before
    if (own > 0) {
      first_block<D>(sh, turns, n0, t.kv_begin, rows, q, o, m, l, p);
      for (int i = 1; i < own; ++i) {
        next_block<D>(sh, turns, n0 + i, t.kv_begin + i * kBlockTokens, rows, q, o, m, l, p);
      }
      last_pv<D>(sh, turns, n0 + own - 1, o, p);
      // q and p are wgmma A operands carried around the loop (keep_live_through_loop).
      keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);  // no item has negative rows
      keep_live_through_loop(p, t.flat_rows < 0, args.part_lse);
    }
    if (own == 0) turns.skip();           // the turn of the last P · V
    for (int i = own; i < blocks; ++i) {  // blocks past this warpgroup's rows
      turns.skip();
      wait_landed(sh.k_full, n0 + i);
      mbarrier_arrive(&sh.k_empty[stage_of(n0 + i)]);
      wait_landed(sh.v_full, n0 + i);
      mbarrier_arrive(&sh.v_empty[stage_of(n0 + i)]);
    }
    n0 += static_cast<uint32_t>(blocks);
    write_tile_parts<D>(args, t, o, m, l, rows);
  }
  turns.finish();
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// One block per SM: 384 threads at up to 168 registers fill the register file. TMA: the
// copying warpgroup uses the copy engine (copy_items_tma; `maps` are the caches'), else
// cp.async (copy_items; `maps` unused). PINGPONG: the computing warpgroups take turns.
template <int D, bool TMA, bool PINGPONG>
__global__ void __launch_bounds__(kThreads, 1)
    attention_wgmma_ws_kernel(const AttentionArgs args, const __grid_constant__ KvTensorMaps maps) {
  wait_prior_grids();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char shared_bytes[];
  const uint32_t misalign = shared_address(shared_bytes) % 1024;
  auto& sh = *reinterpret_cast<WsShared<D>*>(shared_bytes + (1024 - misalign) % 1024);
  if (threadIdx.x == 0) {
    const int full_arrivals = TMA ? kFullArrivals : kTileThreads;
    for (int s = 0; s < kStages; ++s) {
      mbarrier_init(&sh.k_full[s], full_arrivals);
      mbarrier_init(&sh.v_full[s], full_arrivals);
      mbarrier_init(&sh.k_empty[s], kConsumers * kTileThreads);
      mbarrier_init(&sh.v_empty[s], kConsumers * kTileThreads);
    }
    if constexpr (TMA) mbarrier_init_fence();
  }
  __syncthreads();
  const WorkView w{args.work};
  if (threadIdx.x < kTileThreads) {
    if constexpr (TMA) {
      copy_items_tma<D>(args, maps, w, sh);
    } else {
      copy_items<D>(args, w, sh);
    }
  } else {
    compute_items<D, PINGPONG>(args, w, sh);
  }
#else
  __trap();  // not built for sm_90a: attention_wgmma_available() is false, never launched
#endif
}

// Measured on B4 (2026-12-02): its cold prefill of 16,448 rows 121 -> 111 ms; B1 (prefill
// steps of up to 16,384 rows) unchanged; shorter steps keep the one-warpgroup kernel.
std::atomic<int> ws_min_rows = 4096;
std::atomic<bool> use_pingpong = false;
std::atomic<int> num_sms = 0;
std::atomic<int> blocks_per_head_limit = 0;  // tests: set_attention_wgmma_ws_blocks_per_head

}  // namespace

int attention_wgmma_ws_min_rows() {
  return ws_min_rows;
}

void set_attention_wgmma_ws_min_rows(int rows) {
  check(rows >= -1, "attention: the warp-specialized kernel's minimum rows must be -1 or more");
  ws_min_rows = rows;
}

bool attention_wgmma_ws_for(int64_t rows) {
  const int min_rows = ws_min_rows;
  return min_rows >= 0 && rows >= min_rows && attention_wgmma_enabled();
}

void set_attention_wgmma_ws_pingpong(bool on) {
  use_pingpong = on;
}

void set_attention_wgmma_ws_blocks_per_head(int blocks) {
  check(blocks >= 0, "attention: blocks per head must be >= 0");
  blocks_per_head_limit = blocks;
}

void prepare_attention_wgmma_ws_kernels() {
  if (!attention_wgmma_available()) return;
  int device = 0, sms = 0;
  CASCADE_CUDA_CHECK(cudaGetDevice(&device));
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  num_sms = sms;
  set_attention_wgmma_ws_pingpong(
      env_int("CASCADE_ATTENTION_WS_PINGPONG", use_pingpong ? 1 : 0, 0, 1) != 0);
  const auto allow_shared = [](auto kernel, int bytes) {
    CASCADE_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  };
  allow_shared(attention_wgmma_ws_kernel<64, false, false>, ws_shared_bytes<64>());
  allow_shared(attention_wgmma_ws_kernel<128, false, false>, ws_shared_bytes<128>());
  allow_shared(attention_wgmma_ws_kernel<64, true, false>, ws_shared_bytes<64>());
  allow_shared(attention_wgmma_ws_kernel<128, true, false>, ws_shared_bytes<128>());
  allow_shared(attention_wgmma_ws_kernel<64, true, true>, ws_shared_bytes<64>());
  allow_shared(attention_wgmma_ws_kernel<128, true, true>, ws_shared_bytes<128>());
}

namespace {

template <int D>
void launch_ws(const AttentionArgs& args, dim3 grid, cudaStream_t stream) {
  // Items start at multiples of AttentionWorkShape::chunk_multiple (128): of 16 too.
  // Ping-pong only with the copy engine's copies.
  if (attention_wgmma_tma_enabled() && args.page_size % 16 == 0) {
    const auto kernel = use_pingpong ? attention_wgmma_ws_kernel<D, true, true>
                                     : attention_wgmma_ws_kernel<D, true, false>;
    launch("attention_wgmma_ws_kernel", kernel, grid, kThreads, ws_shared_bytes<D>(), stream, args,
           kv_tensor_maps(args));
  } else {
    launch("attention_wgmma_ws_kernel", attention_wgmma_ws_kernel<D, false, false>, grid, kThreads,
           ws_shared_bytes<D>(), stream, args, KvTensorMaps{});
  }
}

}  // namespace

void attention_wgmma_ws_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream) {
  if (blocks == 0) return;
  // Persistent: about one block per SM over all kv heads (blocks loop over the items).
  int per_head = std::max(1, num_sms.load() / args.hkv);
  if (blocks_per_head_limit > 0) per_head = std::min(per_head, blocks_per_head_limit.load());
  const dim3 grid(static_cast<unsigned>(std::min(blocks, per_head)),
                  static_cast<unsigned>(args.hkv));
  switch (args.d) {
    case 64:
      launch_ws<64>(args, grid, stream);
      break;
    case 128:
      launch_ws<128>(args, grid, stream);
      break;
    default:
      throw Error("attention: no wgmma kernel for head_dim " + std::to_string(args.d));
  }
  CASCADE_CUDA_CHECK_LAUNCH("attention_wgmma_ws_kernel");
}

}  // namespace cascade::cuda

// Attention's large tiles on Hopper with warp specialization (sm_90a; experimental:
// CASCADE_ATTENTION_KERNEL=wgmma-ws). A block of three warpgroups runs tiles of 128 flat
// query rows: warpgroup 0 copies the KV blocks (cp.async, in the swizzled layout of
// cuda_attention_wgmma.cuh) into a ring of kStages stages; warpgroups 1 and 2 each own 64
// of the rows and compute them as the wgmma kernel does (same masking, online softmax and
// parts), both reading every stage. So a KV block crosses from L2 once per 128 rows, not
// once per 64, and the copies cost the computing warps no issue slots.
//
// Hand-over per stage through two mbarriers: `full` (each of the 128 copying threads is
// counted once its copies have landed; the computing threads then fence them for wgmma's
// reads) and `empty` (the 256 computing threads arrive once their P · V has read the
// stage). Blocks loop over the items (a persistent grid, one block per SM), and both roles
// walk the same items and KV blocks in the same order, so the ring position is a count of
// blocks: the copies of an item's first blocks overlap the previous item's last.
//
// Measured slower than the one-warpgroup kernel (docs/BENCHMARKS.md, 2026-11-30): kept as
// the base for FlashAttention-3's schedule (setmaxnreg, 128-key blocks, ping-pong).
#include <algorithm>
#include <atomic>
#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_wgmma.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_mbarrier.cuh"

namespace cascade::cuda {
namespace {

constexpr int kConsumers = 2;
constexpr int kThreads = kTileThreads * (1 + kConsumers);
constexpr int kStages = 4;

template <int D>
struct WsShared {
  static constexpr int kOperandBytes = (D / 64) * kWgmmaBandBytes;  // one block of K (or V)
  static constexpr int kQueryStride = D + 8;  // bf16 per staged query row (padded)
  // Stage s: K then V, each band 1024-byte aligned (the swizzle's period).
  alignas(1024) unsigned char kv[kStages][2][kOperandBytes];
  alignas(16) bf16 query[kConsumers][kMmaTileRows * kQueryStride];
  int limit[kConsumers][kMmaTileRows];
  uint64_t full[kStages];
  uint64_t empty[kStages];
};

template <int D>
constexpr int ws_shared_bytes() {
  return static_cast<int>(sizeof(WsShared<D>)) + 1024;  // + aligning the dynamic base
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// Warp-wide: the end of the KV tokens any of the item's kWsTileRows rows sees (at least
// kv_begin). Both roles compute it, so they agree on the item's blocks.
__device__ __forceinline__ int tile_kv_stop(const AttentionArgs& args, const TaskItem& t) {
  int stop = t.kv_begin;
  for (int r = static_cast<int>(threadIdx.x % 32); r < kWsTileRows; r += 32) {
    stop = max(stop, task_row_limit(args, t, t.flat_row0 + r));
  }
  return __reduce_max_sync(0xffffffffu, stop);
}

// Ring position n: its stage and the parity of its round.
__device__ __forceinline__ int stage_of(uint32_t n) {
  return static_cast<int>(n % kStages);
}
__device__ __forceinline__ uint32_t round_parity(uint32_t n) {
  return (n / kStages) & 1u;
}

// Warpgroup 0: every item's KV blocks into the ring, zeros past the tile's end.
template <int D>
__device__ __forceinline__ void copy_items(const AttentionArgs& args, const WorkView& w,
                                           WsShared<D>& sh) {
  constexpr int kPieces = D / 8;  // 16-byte pieces per token row
  constexpr int kRowsPerPass = kTileThreads / kPieces;
  const int piece = static_cast<int>(threadIdx.x) % kPieces;
  const int row0 = static_cast<int>(threadIdx.x) / kPieces;
  const int count = w.count(kWorkNumLarge);
  uint32_t n = 0;
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    const TaskItem t = load_task_item(args, w, w[kWorkLargeItems], i);
    const int stop = tile_kv_stop(args, t);
    for (int block = t.kv_begin; block < stop; block += kTileTokens, ++n) {
      const int stage = stage_of(n);
      mbarrier_wait(&sh.empty[stage], round_parity(n) ^ 1u);
#pragma unroll
      for (int pass = 0; pass < kTileTokens / kRowsPerPass; ++pass) {
        const int j = row0 + pass * kRowsPerPass, token = block + j;
        const bool inside = token < stop;
        const int64_t src = inside ? task_token_offset(args, t, token, D) + piece * 8 : 0;
        const int dst = swizzled_offset(j, piece);
        copy_16_async(sh.kv[stage][0] + dst, args.k_cache + src, inside ? 16 : 0);
        copy_16_async(sh.kv[stage][1] + dst, args.v_cache + src, inside ? 16 : 0);
      }
      // Never waits: the barrier counts this thread once its copies have landed, so up to
      // kStages blocks are in flight.
      mbarrier_arrive_when_copied(&sh.full[stage]);
    }
  }
}

// Warpgroups 1 and 2: rows [64 c, 64 c + 64) of every item's tile, c = warpgroup - 1.
template <int D>
__device__ __forceinline__ void compute_items(const AttentionArgs& args, const WorkView& w,
                                              WsShared<D>& sh) {
  const int c = static_cast<int>(threadIdx.x) / kTileThreads - 1;
  const auto barrier = [c] { named_barrier(1 + c, kTileThreads); };
  const int count = w.count(kWorkNumLarge);
  uint32_t n = 0;
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    TaskItem t = load_task_item(args, w, w[kWorkLargeItems], i);
    const int stop = tile_kv_stop(args, t);  // the tile's: this warpgroup passes every block
    t.flat_row0 += c * kMmaTileRows;
    uint32_t q[D / 16][4];
    const TileRows rows = load_query_tile<D>(args, t, sh.query[c], WsShared<D>::kQueryStride,
                                             sh.limit[c], q, barrier);
    float o[D / 8][4], m[2], l[2];
    start_rows<D>(o, m, l);
    for (int block = t.kv_begin; block < stop; block += kTileTokens, ++n) {
      const int stage = stage_of(n);
      mbarrier_wait(&sh.full[stage], round_parity(n));
      if (block < rows.kv_stop) {  // uniform over the warpgroup
        fence_shared_for_async();  // the copies (generic proxy) before wgmma's reads
        float s[kTileTokens / 8][4];
#pragma unroll
        for (int nt = 0; nt < kTileTokens / 8; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
        }
        wgmma_fence();
        issue_scores<D>(s, q, sh.kv[stage][0]);
        wgmma_commit();
        wgmma_wait_all();
        fence_registers(s);
        float alpha[2];
        tile_softmax(s, block, rows, m, l, alpha);
        rescale_o<D>(o, alpha);
        uint32_t p[kTileTokens / 16][4];
#pragma unroll
        for (int ks = 0; ks < kTileTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
        fence_registers(o);
        wgmma_fence();
        issue_pv<D>(o, p, sh.kv[stage][1]);
        wgmma_commit();
        wgmma_wait_all();
        fence_registers(o);
      }
      mbarrier_arrive(&sh.empty[stage]);
    }
    keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);  // no item has negative rows
    write_tile_parts<D>(args, t, o, m, l, rows);
  }
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// One block per SM: 384 threads at up to 168 registers fill the register file.
template <int D>
__global__ void __launch_bounds__(kThreads, 1) attention_wgmma_ws_kernel(const AttentionArgs args) {
  wait_prior_grids_release_next();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char shared_bytes[];
  const uint32_t misalign = shared_address(shared_bytes) % 1024;
  auto& sh = *reinterpret_cast<WsShared<D>*>(shared_bytes + (1024 - misalign) % 1024);
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbarrier_init(&sh.full[s], kTileThreads);
      mbarrier_init(&sh.empty[s], kConsumers * kTileThreads);
    }
  }
  __syncthreads();
  const WorkView w{args.work};
  if (threadIdx.x < kTileThreads) {
    copy_items<D>(args, w, sh);
  } else {
    compute_items<D>(args, w, sh);
  }
#else
  __trap();  // not built for sm_90a: attention_wgmma_available() is false, never launched
#endif
}

std::atomic<bool> use_ws = false;
std::atomic<int> num_sms = 0;

}  // namespace

bool attention_wgmma_ws_enabled() {
  return use_ws && attention_wgmma_enabled();
}

void set_attention_wgmma_ws(bool on) {
  if (on) set_attention_wgmma(true);
  use_ws = on;
}

void prepare_attention_wgmma_ws_kernels() {
  if (!attention_wgmma_available()) return;
  int device = 0, sms = 0;
  CASCADE_CUDA_CHECK(cudaGetDevice(&device));
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  num_sms = sms;
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_wgmma_ws_kernel<64>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          ws_shared_bytes<64>()));
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_wgmma_ws_kernel<128>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          ws_shared_bytes<128>()));
}

void attention_wgmma_ws_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream) {
  if (blocks == 0) return;
  // Persistent: about one block per SM over all kv heads (blocks loop over the items).
  const int per_head = std::max(1, num_sms.load() / args.hkv);
  const dim3 grid(static_cast<unsigned>(std::min(blocks, per_head)),
                  static_cast<unsigned>(args.hkv));
  switch (args.d) {
    case 64:
      launch("attention_wgmma_ws_kernel", attention_wgmma_ws_kernel<64>, grid, kThreads,
             ws_shared_bytes<64>(), stream, args);
      break;
    case 128:
      launch("attention_wgmma_ws_kernel", attention_wgmma_ws_kernel<128>, grid, kThreads,
             ws_shared_bytes<128>(), stream, args);
      break;
    default:
      throw Error("attention: no wgmma kernel for head_dim " + std::to_string(args.d));
  }
  CASCADE_CUDA_CHECK_LAUNCH("attention_wgmma_ws_kernel");
}

}  // namespace cascade::cuda

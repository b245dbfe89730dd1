// Attention task kernel on tensor cores (mma.sync m16n8k16, bf16 in, fp32 accumulate) for
// tiles of 64 flat query rows, head_dim 64 or 128: prefill, chunked prefill and many rows
// against one shared level. Same inputs and outputs as the CUDA-core task kernel
// (cuda_attention.cu); see cuda_attention_work.h for tiles, chunks and parts.
//
// A block of 4 warps runs one work item for one kv head; warp w owns flat rows
// [16w, 16w + 16) of the tile. Queries are rotated at position - rope_delta, scaled by
// log2(e)/sqrt(d), rounded to bf16 and kept in registers as mma A fragments. Per block of
// 64 KV tokens: K and V are copied into shared memory (cp.async, zero past the end) in two
// stages, the next block's copies in flight while this block is computed; S = Q·Kᵀ on
// tensor cores, a masked online base-2 softmax in registers, and O += P·V with P (bf16)
// taken straight from S's accumulator layout.
#include <cmath>

#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_tile.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kThreads = kTileThreads;
constexpr int kTokens = kTileTokens;
constexpr int kStages = 2;  // KV blocks in shared memory: the one computed, the next arriving
// Registers capped so that 3 blocks (12 warps) fit an SM, as before the second stage.
constexpr int kMinBlocksPerSm = 3;

// Dynamic shared memory (over the 48 KB of static): kStages blocks of K and V.
template <int D>
struct MmaShared {
  static constexpr int kStride = D + 8;  // bf16 per row: 16 bytes of padding against conflicts
  alignas(16) bf16 k[kStages][kTokens * kStride];
  alignas(16) bf16 v[kStages][kTokens * kStride];  // v[0] also stages the query tile
  // Element offset of each token's head in the cache, -1 past the end.
  int token_offset[kTileOffsetSlots][kTokens];  // cache rows (task_token_row), -1 past the end
  int limit[kMmaTileRows];                      // KV tokens row r may see: [kv_begin, limit)
};

template <int D>
__device__ __forceinline__ void issue_kv_block(const AttentionArgs& args, int slot, int stage,
                                               MmaShared<D>& sh) {
  constexpr int kStride = MmaShared<D>::kStride;
  issue_kv_block<D>(args, sh.token_offset[slot], reinterpret_cast<unsigned char*>(sh.k[stage]),
                    reinterpret_cast<unsigned char*>(sh.v[stage]), [](int j, int piece) {
                      return static_cast<int>((j * kStride + piece * 8) * sizeof(bf16));
                    });
}

// One work item: q: [rows, hq, D] bf16; k_cache, v_cache: [pages, page_size, hkv, D]
// bf16; writes part_o: [parts, hq, D] f32 and part_lse: [parts, hq] f32 for its rows.
template <int D>
__device__ __forceinline__ void run_mma_item(const AttentionArgs& args, const TaskItem& t,
                                             MmaShared<D>& sh) {
  constexpr int kStride = MmaShared<D>::kStride;
  const int lane = threadIdx.x % 32;
  const int kv_begin = t.kv_begin;

  uint32_t q[D / 16][4];  // A fragments of this warp's 16 rows (query staged in sh.v[0])
  const TileRows rows = load_query_tile<D>(args, t, sh.v[0], kStride, sh.limit, q);
  const int kv_stop = rows.kv_stop;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  const auto issue = [&](int slot, int stage) { issue_kv_block<D>(args, slot, stage, sh); };
  kv_pipeline_start<D>(args, t, kv_stop, sh.token_offset, issue);
  for (int block = kv_begin, i = 0; block < kv_stop; block += kTokens, ++i) {
    kv_pipeline_step<D>(args, t, block, i, kv_stop, sh.token_offset, issue, [] {});
    const bf16* k_stage = sh.k[i % 2];
    const bf16* v_stage = sh.v[i % 2];

    // S = Q · Kᵀ for 8 tiles of 8 tokens.
    float s[kTokens / 8][4];
#pragma unroll
    for (int nt = 0; nt < kTokens / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 32; ++kk) {
        uint32_t b[4];
        ldmatrix_x4(b, &k_stage[(nt * 8 + lane % 8) * kStride + kk * 32 + (lane / 8) * 8]);
        mma_bf16(s[nt], q[2 * kk], b[0], b[1]);
        mma_bf16(s[nt], q[2 * kk + 1], b[2], b[3]);
      }
    }
    float alpha[2];
    tile_softmax(s, block, rows, m, l, alpha);
    rescale_o<D>(o, alpha);
    // O += P · V, 16 tokens per step.
#pragma unroll
    for (int ks = 0; ks < kTokens / 16; ++ks) {
      uint32_t a[4];
      p_fragment(s, ks, a);
#pragma unroll
      for (int dt = 0; dt < D / 16; ++dt) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, &v_stage[(ks * 16 + lane % 8 + ((lane / 8) % 2) * 8) * kStride +
                                      dt * 16 + (lane / 16) * 8]);
        mma_bf16(o[2 * dt], a, b[0], b[1]);
        mma_bf16(o[2 * dt + 1], a, b[2], b[3]);
      }
    }
  }
  write_tile_parts<D>(args, t, o, m, l, rows);
}

// The large work items, block x taking items x, x + grid, ...
template <int D>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm)
    attention_mma_kernel(const AttentionArgs args) {
  wait_prior_grids();
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  MmaShared<D>& sh = *reinterpret_cast<MmaShared<D>*>(shared_bytes);
  const WorkView w{args.work};
  const int count = w.count(kWorkNumLarge);
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    run_mma_item<D>(args, load_task_item(args, w, w[kWorkLargeItems], i), sh);
    __syncthreads();  // the next item reuses shared memory
  }
}

template <int D>
constexpr int mma_shared_bytes() {
  return static_cast<int>(sizeof(MmaShared<D>));
}

template <int D>
void launch_mma(dim3 grid, const AttentionArgs& args, cudaStream_t stream) {
  launch("attention_mma_kernel", attention_mma_kernel<D>, grid, kThreads, mma_shared_bytes<D>(),
         stream, args);
}

}  // namespace

void prepare_attention_mma_kernels() {
  prepare_attention_wgmma_kernels();
  prepare_attention_wgmma_ws_kernels();
  // More than 48 KB of dynamic shared memory is opt-in, per kernel and device.
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_mma_kernel<64>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          mma_shared_bytes<64>()));
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_mma_kernel<128>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          mma_shared_bytes<128>()));
}

bool attention_mma_supports_head_dim(int d) {
  return mma_head_dim(d);
}

void attention_mma_tasks(const AttentionArgs& args, int blocks, int tile_rows,
                         cudaStream_t stream) {
  if (blocks == 0) return;
  if (tile_rows == kWsTileRows) return attention_wgmma_ws_tasks(args, blocks, stream);
  if (attention_wgmma_enabled()) return attention_wgmma_tasks(args, blocks, stream);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(args.hkv));
  switch (args.d) {
    case 64:
      launch_mma<64>(grid, args, stream);
      break;
    case 128:
      launch_mma<128>(grid, args, stream);
      break;
    default:
      throw Error("attention: no tensor-core kernel for head_dim " + std::to_string(args.d));
  }
  CASCADE_CUDA_CHECK_LAUNCH("attention_mma_kernel");
}

}  // namespace cascade::cuda

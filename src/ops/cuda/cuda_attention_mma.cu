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
#include "ops/cuda/cuda_attention_task.cuh"
#include "ops/cuda/cuda_check.h"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTokens = 64;  // KV tokens per block step
constexpr float kMinusInf = -INFINITY;

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

// c += a · b for one m16n8k16 tile.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

constexpr int kStages = 2;  // KV blocks in shared memory: the one computed, the next arriving
// Registers capped so that 3 blocks (12 warps) fit an SM, as before the second stage.
constexpr int kMinBlocksPerSm = 3;

// Token offsets are found two KV blocks ahead, so a slot is written while the two before
// it may still be read: three slots.
constexpr int kOffsetSlots = 3;

// Dynamic shared memory (over the 48 KB of static): kStages blocks of K and V.
template <int D>
struct MmaShared {
  static constexpr int kStride = D + 8;  // bf16 per row: 16 bytes of padding against conflicts
  alignas(16) bf16 k[kStages][kTokens * kStride];
  alignas(16) bf16 v[kStages][kTokens * kStride];  // v[0] also stages the query tile
  // Element offset of each token's head in the cache, -1 past the end.
  int64_t token_offset[kOffsetSlots][kTokens];
  int limit[kMmaTileRows];  // KV tokens row r may see: [kv_begin, limit)
};

// Threads 0..kTokens-1: the cache offsets of KV tokens [block, block + kTokens) into `slot`
// (-1 from kv_stop on). Published by the next barrier.
template <int D>
__device__ __forceinline__ void find_token_offsets(const AttentionArgs& args, const TaskItem& t,
                                                   int block, int kv_stop, int slot,
                                                   MmaShared<D>& sh) {
  if (threadIdx.x < kTokens) {
    const int token = block + threadIdx.x;
    sh.token_offset[slot][threadIdx.x] =
        token < kv_stop ? task_token_offset(args, t, token, D) : -1;
  }
}

// Block-wide: starts copying the K and V of the KV block whose offsets are in `slot` (zeros
// past the end) into stage `stage`, as one group of this thread's copies. A thread always
// copies the same 16-byte piece of its rows, so only the row changes between copies.
template <int D>
__device__ __forceinline__ void issue_kv_block(const AttentionArgs& args, int slot, int stage,
                                               MmaShared<D>& sh) {
  constexpr int kStride = MmaShared<D>::kStride;
  constexpr int kPieces = D / 8;                    // 16-byte pieces per row
  constexpr int kRowsPerPass = kThreads / kPieces;  // rows one pass of the block copies
  static_assert(kThreads % kPieces == 0 && kTokens % kRowsPerPass == 0, "copy shapes");
  const int piece = threadIdx.x % kPieces;
  const int row0 = threadIdx.x / kPieces;
#pragma unroll
  for (int pass = 0; pass < kTokens / kRowsPerPass; ++pass) {
    const int j = row0 + pass * kRowsPerPass;
    const int64_t offset = sh.token_offset[slot][j];
    const int bytes = offset >= 0 ? 16 : 0;
    const int64_t src = offset >= 0 ? offset + piece * 8 : 0;
    const int dst = j * kStride + piece * 8;
    copy_16_async(&sh.k[stage][dst], args.k_cache + src, bytes);
    copy_16_async(&sh.v[stage][dst], args.v_cache + src, bytes);
  }
  copies_commit();
}

// One work item: q: [rows, hq, D] bf16; k_cache, v_cache: [pages, page_size, hkv, D]
// bf16; writes part_o: [parts, hq, D] f32 and part_lse: [parts, hq] f32 for its rows.
template <int D>
__device__ __forceinline__ void run_mma_item(const AttentionArgs& args, const TaskItem& t,
                                             MmaShared<D>& sh) {
  static_assert(kMmaTileRows == kWarps * 16 && kTokens == kMmaTileRows, "tile shapes");
  constexpr int kStride = MmaShared<D>::kStride;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kv_begin = t.kv_begin;

  // Query tile, rotated and scaled, staged as bf16 in sh.v.
  for (int idx = threadIdx.x; idx < kMmaTileRows * (D / 2); idx += kThreads) {
    const int r = idx / (D / 2), i = idx % (D / 2);
    const float2 xy = task_query_pair(args, t, t.flat_row0 + r, i, D);
    sh.v[0][r * kStride + i] = __float2bfloat16(xy.x);
    sh.v[0][r * kStride + i + D / 2] = __float2bfloat16(xy.y);
  }
  if (threadIdx.x < kMmaTileRows) {
    sh.limit[threadIdx.x] = task_row_limit(args, t, t.flat_row0 + threadIdx.x);
  }
  __syncthreads();
  uint32_t q[D / 16][4];  // A fragments of this warp's 16 rows
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks) {
    ldmatrix_x4(q[ks], &sh.v[0][(warp * 16 + lane % 16) * kStride + ks * 16 + (lane / 16) * 8]);
  }
  int kv_stop = kv_begin;
  for (int r = 0; r < kMmaTileRows; ++r) kv_stop = max(kv_stop, sh.limit[r]);
  // This thread's two rows: g and g + 8 of the warp's 16 (the mma accumulator layout).
  const int row_a = warp * 16 + lane / 4;
  const int limit[2] = {sh.limit[row_a], sh.limit[row_a + 8]};
  // Blocks wholly below every limit of the warp's rows need no mask.
  const int warp_min_limit = __reduce_min_sync(0xffffffffu, min(limit[0], limit[1]));
  __syncthreads();  // sh.v is free again

  float o[D / 8][4];
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) o[dt][e] = 0.0f;
  }
  float m[2] = {kMinusInf, kMinusInf}, l[2] = {0.0f, 0.0f};

  // Block i's K and V arrive in stage i % 2 while block i - 1 is computed; its token
  // offsets were found two blocks earlier, in slot i % 3. One barrier per block.
  if (kv_begin < kv_stop) {
    find_token_offsets<D>(args, t, kv_begin, kv_stop, 0, sh);
    find_token_offsets<D>(args, t, kv_begin + kTokens, kv_stop, 1, sh);
    __syncthreads();
    issue_kv_block<D>(args, 0, 0, sh);
  }
  for (int block = kv_begin, i = 0; block < kv_stop; block += kTokens, ++i) {
    copies_wait_pending<0>();
    // Publishes block i's copies and slot (i + 1) % 3's offsets; every warp has finished
    // block i - 1, so its stage may be refilled.
    __syncthreads();
    if (block + kTokens < kv_stop) issue_kv_block<D>(args, (i + 1) % kOffsetSlots, (i + 1) % 2, sh);
    // Slot (i + 2) % 3 was last read issuing block i - 1, before this barrier.
    if (block + 2 * kTokens < kv_stop) {
      find_token_offsets<D>(args, t, block + 2 * kTokens, kv_stop, (i + 2) % kOffsetSlots, sh);
    }
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
    // Mask (only a block that reaches some row's limit), then the online softmax of rows
    // g (e = 0, 1) and g + 8 (e = 2, 3).
    if (block + kTokens > warp_min_limit) {
#pragma unroll
      for (int nt = 0; nt < kTokens / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int token = block + nt * 8 + 2 * (lane % 4) + (e & 1);
          if (token >= limit[e / 2]) s[nt][e] = kMinusInf;
        }
      }
    }
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float block_max = kMinusInf;
#pragma unroll
      for (int nt = 0; nt < kTokens / 8; ++nt) {
        block_max = fmaxf(block_max, fmaxf(s[nt][2 * h], s[nt][2 * h + 1]));
      }
      block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 1));
      block_max = fmaxf(block_max, __shfl_xor_sync(0xffffffffu, block_max, 2));
      const float m_new = fmaxf(m[h], block_max);
      const float m_use = m_new == kMinusInf ? 0.0f : m_new;  // all masked so far: p = 0
      alpha[h] = fast_exp2(m[h] - m_use);
      m[h] = m_new;
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kTokens / 8; ++nt) {
        s[nt][2 * h] = fast_exp2(s[nt][2 * h] - m_use);
        s[nt][2 * h + 1] = fast_exp2(s[nt][2 * h + 1] - m_use);
        sum += s[nt][2 * h] + s[nt][2 * h + 1];
      }
      l[h] = l[h] * alpha[h] + sum;  // this thread's columns; the quad is summed at the end
    }
    // Once the row maxima settle, alpha is 1 and O stays as it is (x · 1 = x exactly).
    if (__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) {
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        o[dt][0] *= alpha[0];
        o[dt][1] *= alpha[0];
        o[dt][2] *= alpha[1];
        o[dt][3] *= alpha[1];
      }
    }
    // O += P · V, 16 tokens per step; P's A fragment is two S tiles side by side.
#pragma unroll
    for (int ks = 0; ks < kTokens / 16; ++ks) {
      const uint32_t a[4] = {pack_bf16(s[2 * ks][0], s[2 * ks][1]),
                             pack_bf16(s[2 * ks][2], s[2 * ks][3]),
                             pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                             pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3])};
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

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
    l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    const int flat = t.flat_row0 + row_a + 8 * h;
    if (flat >= t.flat_rows) continue;
    const bool seen = m[h] != kMinusInf;
    const float inv = seen ? 1.0f / l[h] : 0.0f;
    const int64_t part = t.part_base + flat / t.group;
    const int head = t.kv_head * t.group + flat % t.group;
    float* dst = args.part_o + (part * args.hq + head) * D + 2 * (lane % 4);
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<float2*>(dst + dt * 8) =
          make_float2(o[dt][2 * h] * inv, o[dt][2 * h + 1] * inv);
    }
    if (lane % 4 == 0) args.part_lse[part * args.hq + head] = seen ? m[h] + log2f(l[h]) : kMinusInf;
  }
}

// The large work items, block x taking items x, x + grid, ...
template <int D>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm)
    attention_mma_kernel(const AttentionArgs args) {
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
  attention_mma_kernel<D><<<grid, kThreads, mma_shared_bytes<D>(), stream>>>(args);
}

}  // namespace

void prepare_attention_mma_kernels() {
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

void attention_mma_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream) {
  if (blocks == 0) return;
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

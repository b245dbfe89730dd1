// Attention task kernel on Hopper's warpgroup tensor cores (wgmma, sm_90a), for the same
// large tiles as the mma.sync kernel (cuda_attention_mma.cu): 64 flat query rows, head_dim
// 64 or 128, same inputs and outputs, same masking and online softmax
// (cuda_attention_tile.cuh). Used only when enabled (cuda_attention_variant.h:
// CASCADE_ATTENTION_KERNEL=wgmma), built only for sm_90a.
//
// A block is one warpgroup (4 warps); warp w owns flat rows [16w, 16w + 16). Queries are A
// operands in registers (mma's A fragment layout, which wgmma's register A shares). Per
// block of 64 KV tokens, K and V land in shared memory by cp.async in the 128-byte swizzled
// layout wgmma reads: bands of 64 elements (64 rows × 128 bytes, 1024-byte aligned), the
// 16-byte piece c of row j stored at c ^ (j % 8). S = Q·Kᵀ is D/16 wgmma m64n64k16 with K
// K-major; O += P·V is 4 wgmma m64nDk16 with P from S's accumulators (bf16, as in the mma
// kernel) and V N-major (transposed B).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_tile.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kThreads = kTileThreads;  // one warpgroup
constexpr int kTokens = kTileTokens;
constexpr int kStages = 2;
constexpr int kBandBytes = kTokens * 128;  // 64 rows of 64 bf16
// 3 blocks per SM as the mma kernel: 163 registers, no spills; 68 KB of shared memory each.
constexpr int kMinBlocksPerSm = 3;

template <int D>
struct WgmmaShared {
  static constexpr int kOperandBytes = (D / 64) * kBandBytes;  // one block of K (or V)
  static constexpr int kQueryStride = D + 8;                   // bf16 per staged query row (padded)
  // Stage s: K then V, each band 1024-byte aligned (the swizzle's period).
  alignas(1024) unsigned char kv[kStages][2][kOperandBytes];
  int64_t token_offset[kTileOffsetSlots][kTokens];  // element offsets, -1 past the end
  int limit[kMmaTileRows];
  static_assert(kMmaTileRows * kQueryStride * 2 <= 2 * kOperandBytes, "query staging fits a stage");
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// A shared-memory matrix descriptor in the 128-byte swizzled layout: leading_bytes, the
// step between bands of 64 elements along the contiguous dimension (unused for K-major
// operands that fit a band), stride_bytes between groups of 8 rows.
__device__ __forceinline__ uint64_t swizzled_desc(const void* p, uint32_t leading_bytes,
                                                  uint32_t stride_bytes) {
  const uint32_t addr = shared_address(p);
  return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) |
         (static_cast<uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<uint64_t>(stride_bytes >> 4) << 32) | (uint64_t{1} << 62);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
// Values the asynchronous MMAs write are neither read nor moved across this point.
template <int N>
__device__ __forceinline__ void fence_registers(float (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(r[i][e])::"memory");
  }
}
// Thread writes to shared memory (cp.async's included) become visible to wgmma's reads.
__device__ __forceinline__ void fence_shared_for_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// d += a · b, wgmma m64n64k16 (f32 += bf16 · bf16): a in registers, b in shared memory.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n64k16(float (&d)[8][4], const uint32_t (&a)[4],
                                                uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15,"
      " %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),
        "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),
        "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]),
        "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),
        "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),
        "+f"(d[7][2]), "+f"(d[7][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(1), "n"(TRANS_B));
}

// d += a · b, wgmma m64n128k16 (f32 += bf16 · bf16): a in registers, b in shared memory.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[16][4], const uint32_t (&a)[4],
                                                 uint64_t b_desc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15,"
      " %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31,"
      " %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47,"
      " %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),
        "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),
        "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]),
        "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),
        "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),
        "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]),
        "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]),
        "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]),
        "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]),
        "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]),
        "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]),
        "+f"(d[15][2]), "+f"(d[15][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(1), "n"(TRANS_B));
}

// ptxas (CUDA 13.0) does not count a wgmma's reads of register A operands carried around a
// loop: at head_dim 64 it gave q's registers to P inside the KV loop, so every block after
// the first multiplied by P (measured: errors of 40-700 %). An ordinary read of q after the
// loop, on a branch that is never taken, keeps q's registers live through the loop.
template <int N>
__device__ __forceinline__ void keep_live_through_loop(const uint32_t (&r)[N][4], bool never,
                                                       float* sink) {
  if (!never) return;
  uint32_t x = 0;
#pragma unroll
  for (int i = 0; i < N; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) x ^= r[i][e];
  }
  *reinterpret_cast<volatile uint32_t*>(sink) = x;
}

template <int D>
__device__ __forceinline__ void issue_kv_block(const AttentionArgs& args, int slot, int stage,
                                               WgmmaShared<D>& sh) {
  issue_kv_block<D>(args, sh.token_offset[slot], sh.kv[stage][0], sh.kv[stage][1],
                    [](int j, int piece) {
                      return (piece / 8) * kBandBytes + j * 128 + (((piece % 8) ^ (j % 8)) << 4);
                    });
}

template <int D>
__device__ __forceinline__ void run_wgmma_item(const AttentionArgs& args, const TaskItem& t,
                                               WgmmaShared<D>& sh) {
  const int kv_begin = t.kv_begin;
  uint32_t q[D / 16][4];  // staged (padded rows) in stage 1, free again once loaded
  const TileRows rows = load_query_tile<D>(args, t, reinterpret_cast<bf16*>(sh.kv[1][0]),
                                           WgmmaShared<D>::kQueryStride, sh.limit, q);
  const int kv_stop = rows.kv_stop;

  float o[D / 8][4], m[2], l[2];
  start_rows<D>(o, m, l);
  const auto issue = [&](int slot, int stage) { issue_kv_block<D>(args, slot, stage, sh); };
  kv_pipeline_start<D>(args, t, kv_stop, sh.token_offset, issue);
  for (int block = kv_begin, i = 0; block < kv_stop; block += kTokens, ++i) {
    kv_pipeline_step<D>(args, t, block, i, kv_stop, sh.token_offset, issue,
                        [] { fence_shared_for_async(); });
    const unsigned char* k_stage = sh.kv[i % 2][0];
    const unsigned char* v_stage = sh.kv[i % 2][1];

    // S = Q · Kᵀ, K K-major: a k-step of 16 elements is 32 bytes along a 128-byte row.
    float s[kTokens / 8][4];
#pragma unroll
    for (int nt = 0; nt < kTokens / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
    }
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      wgmma_m64n64k16<0>(s, q[kk],
                         swizzled_desc(k_stage + (kk / 4) * kBandBytes + (kk % 4) * 32, 16, 1024));
    }
    wgmma_commit();
    wgmma_wait_all();
    fence_registers(s);

    float alpha[2];
    tile_softmax(s, block, rows, m, l, alpha);
    rescale_o<D>(o, alpha);
    // O += P · V, V N-major: a k-step of 16 tokens is 16 rows of 128 bytes; the next band of
    // 64 dims is kBandBytes further.
    uint32_t p[kTokens / 16][4];
#pragma unroll
    for (int ks = 0; ks < kTokens / 16; ++ks) p_fragment(s, ks, p[ks]);
    fence_registers(o);
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < kTokens / 16; ++ks) {
      const uint64_t desc = swizzled_desc(v_stage + ks * 16 * 128, kBandBytes, 1024);
      if constexpr (D == 128) {
        wgmma_m64n128k16<1>(o, p[ks], desc);
      } else {
        wgmma_m64n64k16<1>(o, p[ks], desc);
      }
    }
    wgmma_commit();
    wgmma_wait_all();
    fence_registers(o);
  }
  keep_live_through_loop(q, t.flat_rows < 0, args.part_lse);  // no item has negative rows
  write_tile_parts<D>(args, t, o, m, l, rows);
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

template <int D>
constexpr int wgmma_shared_bytes() {
  return static_cast<int>(sizeof(WgmmaShared<D>)) + 1024;  // + aligning the dynamic base
}

// The large work items, block x taking items x, x + grid, ...
template <int D>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm)
    attention_wgmma_kernel(const AttentionArgs args) {
  wait_prior_grids_release_next();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char shared_bytes[];
  const uint32_t misalign = shared_address(shared_bytes) % 1024;
  auto& sh = *reinterpret_cast<WgmmaShared<D>*>(shared_bytes + (1024 - misalign) % 1024);
  const WorkView w{args.work};
  const int count = w.count(kWorkNumLarge);
  for (int i = static_cast<int>(blockIdx.x); i < count; i += static_cast<int>(gridDim.x)) {
    run_wgmma_item<D>(args, load_task_item(args, w, w[kWorkLargeItems], i), sh);
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

void prepare_attention_wgmma_kernels() {
  if (const char* kernel = std::getenv("CASCADE_ATTENTION_KERNEL")) {
    check(std::strcmp(kernel, "mma") == 0 || std::strcmp(kernel, "wgmma") == 0, [&] {
      return "CASCADE_ATTENTION_KERNEL: expected mma or wgmma, got '" + std::string(kernel) + "'";
    });
    set_attention_wgmma(std::strcmp(kernel, "wgmma") == 0);
  }
  if (!attention_wgmma_available()) return;
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_wgmma_kernel<64>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          wgmma_shared_bytes<64>()));
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(attention_wgmma_kernel<128>,
                                          cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          wgmma_shared_bytes<128>()));
}

void attention_wgmma_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream) {
  if (blocks == 0) return;
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(args.hkv));
  switch (args.d) {
    case 64:
      launch("attention_wgmma_kernel", attention_wgmma_kernel<64>, grid, kThreads,
             wgmma_shared_bytes<64>(), stream, args);
      break;
    case 128:
      launch("attention_wgmma_kernel", attention_wgmma_kernel<128>, grid, kThreads,
             wgmma_shared_bytes<128>(), stream, args);
      break;
    default:
      throw Error("attention: no wgmma kernel for head_dim " + std::to_string(args.d));
  }
  CASCADE_CUDA_CHECK_LAUNCH("attention_wgmma_kernel");
}

}  // namespace cascade::cuda

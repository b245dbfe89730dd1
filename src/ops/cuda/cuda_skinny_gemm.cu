// Matrix products of steps with a few dozen to 256 rows (batched decode, a question over
// cached chunks): out[r, n] = x[r, :] · w[n, :] (+ bias[n]), bf16 in and out, fp32
// accumulation, on Hopper's warpgroup tensor cores (wgmma, sm_90a).
//
// At such sizes the weight is most of the bytes and its read is the floor. cuBLASLt took
// ~4× its copy time on them (B2's four projections at 128 rows: 31.3 µs per layer for
// 31.5 MB, H200 2026-12-02), with a split-K reduce kernel after some. Here a block owns a
// tile of BN output columns (64 or 128) for 64 or 128 rows (one or two warpgroups, a
// wgmma m64nBNk16 each), and the k range is split over a thread block cluster of CS blocks
// (1, 2, 4 or 8) so that the grid covers the GPU even where n is short. Each block streams
// its share of k in steps of 64 elements through a ring of stages (cp.async into the
// 128-byte swizzled layout wgmma reads; the weight's copies of the first stages are issued
// before the kernel waits for the kernels ahead). The cluster's partial sums then meet in
// distributed shared memory: block r adds the CS partials of its slice of the tile's rows
// in rank order (the same order every run) and writes them, with the bias, as bf16.
//
// Experimental, off by default (CASCADE_SKINNY_GEMM=1): on the H200 it measured slower than
// cuBLASLt (B2 batch 128: 29,290 vs 33,560 tok/s; alone, cold weights: 7-13 µs against 8-14
// per projection, ahead only where n is short), its 4-6 k-steps per block never reaching the
// copy rate (docs/BENCHMARKS.md, 2026-12-02 11:35 UTC). CASCADE_SKINNY_GEMM=2 runs the
// tiling with x and w fetched by the copy engine (skinny_gemm_tma_kernel), also off: in
// B2's decode step (ncu, each kernel alone, 2026-12-02 21:08 UTC) its four projections at
// 128 rows take 37.7 µs a layer against cuBLASLt's 31.8 (with its split-K reduce), and B2
// batch 128 runs 4 % slower with it.
#include <cooperative_groups.h>

#include <atomic>
#include <map>
#include <tuple>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_mbarrier.cuh"
#include "ops/cuda/cuda_tensor_core.cuh"
#include "ops/cuda/cuda_tensor_map.h"
#include "ops/cuda/cuda_wgmma.cuh"

namespace cascade::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kStepElements = 64;  // k per stage: one 128-byte swizzle band per row
constexpr int kMaxCluster = 8;     // the portable cluster size

template <int WG, int BN>
struct SkinnyTile {
  static constexpr int kThreads = WG * 128;
  static constexpr int kRows = WG * 64;
  static constexpr int kXBytes = kRows * 128;  // [kRows, 64] bf16, swizzled
  static constexpr int kWBytes = BN * 128;     // [BN, 64] bf16, swizzled
  static constexpr int kStageBytes = kXBytes + kWBytes;
  // Stages within ~100 KB, so that two blocks fit an SM (twice as many, one block per SM,
  // measured slower: B2 batch 128 26,340 vs 29,300 tok/s).
  static constexpr int kStages = kStageBytes > 24 * 1024 ? 3 : 4;
  static constexpr int kPartialStride = BN + 4;  // floats per row of a partial tile (padded)
  static constexpr int kSharedBytes = kStages * kStageBytes;
  static_assert(kRows * kPartialStride * 4 <= kSharedBytes, "the partial tile fits the stages");
};

struct SkinnyGemmArgs {
  const bf16* x;     // [rows, k]
  const bf16* w;     // [n, k]
  const bf16* bias;  // [n] or null
  bf16* out;         // [rows, n]
  int rows, n, k;
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// swizzled_offset's rows per band: a stage holds one band (pieces 0..7), so the band
// stride it sets never enters an offset. Only the sm_90a code uses it (the compute_90
// pass would warn of an unused variable).
constexpr int kBandRows = 64;

// Copies of one operand's 64-element k-step for `count` rows from `src` (rows `k`
// elements apart) into `dst`, swizzled; rows at or past `valid` as zeros.
template <int THREADS>
__device__ __forceinline__ void copy_step_rows(unsigned char* dst, const bf16* src, int64_t k,
                                               int count, int valid) {
  for (int u = static_cast<int>(threadIdx.x); u < count * 8; u += THREADS) {
    const int row = u / 8, piece = u % 8;
    const bool in = row < valid;
    copy_16_async(dst + swizzled_offset<kBandRows>(row, piece),
                  src + (in ? row : 0) * k + piece * 8, in ? 16 : 0);
  }
}

// Where a block works: its stages (the dynamic shared memory from its first 1024-byte
// boundary), its output tile (columns n0.., rows m0.., of which valid_rows are in the
// output) and its cluster rank's share of k, steps [first, first + steps) of 64.
template <int WG, int BN>
struct SkinnyBlock {
  using T = SkinnyTile<WG, BN>;
  unsigned char* stages;
  int cluster_size, rank;
  int64_t n0;
  int m0, first, steps, valid_rows;

  __device__ SkinnyBlock(const SkinnyGemmArgs& a, unsigned char* shared_bytes,
                         const cg::cluster_group& cluster)
      : stages(shared_bytes + (1024 - shared_address(shared_bytes) % 1024) % 1024),
        cluster_size(static_cast<int>(cluster.num_blocks())),
        rank(static_cast<int>(cluster.block_rank())),
        n0(static_cast<int64_t>(blockIdx.x / cluster_size) * BN),
        m0(static_cast<int>(blockIdx.y) * T::kRows) {
    const int steps_all = a.k / kStepElements;
    first = rank * steps_all / cluster_size;
    steps = (rank + 1) * steps_all / cluster_size - first;
    valid_rows = min(T::kRows, a.rows - m0);
  }
  __device__ unsigned char* x_stage(int s) const { return stages + s * T::kStageBytes; }
  __device__ unsigned char* w_stage(int s) const {
    return stages + s * T::kStageBytes + T::kXBytes;
  }
};

// The block's output tile from its accumulators (rows m0.., columns n0..), with the bias,
// as bf16. Where the cluster has more than one block, their partial tiles meet in
// distributed shared memory (each block's in its `stages`): block r adds the partials of
// its slice of the tile's rows in rank order (the same order every run) and writes them;
// the caller has then finished every access to `stages` and synchronized the block.
template <int WG, int BN>
__device__ __forceinline__ void store_tile(const SkinnyGemmArgs& a, float (&acc)[BN / 8][4],
                                           const SkinnyBlock<WG, BN>& b,
                                           cg::cluster_group& cluster) {
  using T = SkinnyTile<WG, BN>;
  const int cluster_size = b.cluster_size, rank = b.rank, m0 = b.m0, valid_rows = b.valid_rows;
  const int64_t n0 = b.n0;
  const int warpgroup = static_cast<int>(threadIdx.x) / 128;
  const int warp = static_cast<int>(threadIdx.x) % 128 / 32,
            lane = static_cast<int>(threadIdx.x) % 32;
  // This thread's accumulators: rows r0 and r0 + 8 of the tile, columns 8·t + c0 and + 1.
  const int r0 = warpgroup * 64 + warp * 16 + lane / 4, c0 = 2 * (lane % 4);
  const auto store = [&](int row, int64_t col, float v0, float v1) {
    if (a.bias) {
      v0 += __bfloat162float(a.bias[col]);
      v1 += __bfloat162float(a.bias[col + 1]);
    }
    *reinterpret_cast<__nv_bfloat162*>(a.out + (m0 + row) * int64_t{a.n} + col) =
        __floats2bfloat162_rn(v0, v1);
  };
  if (cluster_size == 1) {
#pragma unroll
    for (int t = 0; t < BN / 8; ++t) {
      if (r0 < valid_rows) store(r0, n0 + 8 * t + c0, acc[t][0], acc[t][1]);
      if (r0 + 8 < valid_rows) store(r0 + 8, n0 + 8 * t + c0, acc[t][2], acc[t][3]);
    }
    return;
  }
  // The partial tile into this block's (now idle) stages, then the cluster's sums.
  float* partial = reinterpret_cast<float*>(b.stages);
#pragma unroll
  for (int t = 0; t < BN / 8; ++t) {
    *reinterpret_cast<float2*>(partial + r0 * T::kPartialStride + 8 * t + c0) =
        make_float2(acc[t][0], acc[t][1]);
    *reinterpret_cast<float2*>(partial + (r0 + 8) * T::kPartialStride + 8 * t + c0) =
        make_float2(acc[t][2], acc[t][3]);
  }
  cluster.sync();
  const int slice_rows = T::kRows / cluster_size;
  for (int u = static_cast<int>(threadIdx.x); u < slice_rows * (BN / 4); u += T::kThreads) {
    const int row = rank * slice_rows + u / (BN / 4), col = 4 * (u % (BN / 4));
    if (row >= valid_rows) break;  // u grows with row
    float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    for (int block = 0; block < cluster_size; ++block) {
      const float4 p = *reinterpret_cast<const float4*>(cluster.map_shared_rank(partial, block) +
                                                        row * T::kPartialStride + col);
      sum.x += p.x;
      sum.y += p.y;
      sum.z += p.z;
      sum.w += p.w;
    }
    store(row, n0 + col, sum.x, sum.y);
    store(row, n0 + col + 2, sum.z, sum.w);
  }
  cluster.sync();  // the other blocks' reads of this block's partial are done
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// Shapes and dtypes: SkinnyGemmArgs; grid (n / BN · cluster, ceil(rows / (64 · WG))) in
// clusters of (cluster, 1, 1); SkinnyTile's shared bytes + 1024. n % BN == 0, k % 64 == 0;
// x, w and out 16-byte aligned.
template <int WG, int BN>
__global__ void __launch_bounds__(SkinnyTile<WG, BN>::kThreads, 2)
    skinny_gemm_kernel(const SkinnyGemmArgs a) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using T = SkinnyTile<WG, BN>;
  extern __shared__ unsigned char shared_bytes[];
  cg::cluster_group cluster = cg::this_cluster();
  const SkinnyBlock<WG, BN> b(a, shared_bytes, cluster);
  const auto x_stage = [&](int s) { return b.x_stage(s); };
  const auto w_stage = [&](int s) { return b.w_stage(s); };
  const int64_t k = a.k;
  const int steps = b.steps, valid_rows = b.valid_rows;
  const bf16* x = a.x + b.m0 * k + int64_t{b.first} * kStepElements;
  const bf16* w = a.w + b.n0 * k + int64_t{b.first} * kStepElements;

  // The weight (which no kernel writes) of the first stages before the wait, x after it;
  // stage s is copy group s.
  for (int s = 0; s < T::kStages - 1 && s < steps; ++s) {
    copy_step_rows<T::kThreads>(w_stage(s), w + s * kStepElements, k, BN, BN);
  }
  wait_prior_grids();
  for (int s = 0; s < T::kStages - 1; ++s) {
    if (s < steps) {
      copy_step_rows<T::kThreads>(x_stage(s), x + s * kStepElements, k, T::kRows, valid_rows);
    }
    copies_commit();
  }

  const int warpgroup = static_cast<int>(threadIdx.x) / 128;
  const int warp = static_cast<int>(threadIdx.x) % 128 / 32,
            lane = static_cast<int>(threadIdx.x) % 32;
  float acc[BN / 8][4];
  zero_tiles(acc);
  for (int i = 0; i < steps; ++i) {
    copies_wait_pending<T::kStages - 2>();
    fence_shared_for_async();
    __syncthreads();  // step i has landed; every warpgroup is done with step i - 1's stage
    const int refill = i + T::kStages - 1;
    if (refill < steps) {
      const int s = refill % T::kStages;
      copy_step_rows<T::kThreads>(w_stage(s), w + refill * kStepElements, k, BN, BN);
      copy_step_rows<T::kThreads>(x_stage(s), x + refill * kStepElements, k, T::kRows, valid_rows);
    }
    copies_commit();
    const unsigned char* xs = x_stage(i % T::kStages);
    const unsigned char* ws = w_stage(i % T::kStages);
    // This warp's A fragments (rows 16·warp.. of its warpgroup's 64) for the 4 k-steps of 16.
    uint32_t frag[kStepElements / 16][4];
    const int a_row = warpgroup * 64 + warp * 16 + lane % 16;
#pragma unroll
    for (int kk = 0; kk < kStepElements / 16; ++kk) {
      ldmatrix_x4(frag[kk], xs + swizzled_offset<kBandRows>(a_row, 2 * kk + lane / 16));
    }
    fence_registers(acc);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kStepElements / 16; ++kk) {
      wgmma_m64k16<0, BN>(acc, frag[kk], swizzled_desc(ws + kk * 32, 16, 1024));
    }
    wgmma_commit();
    wgmma_wait_all();
    fence_registers(acc);
  }

  if (b.cluster_size > 1) {  // the partial tile goes into the stages
    copies_wait_pending<0>();
    __syncthreads();
  }
  store_tile<WG, BN>(a, acc, b, cluster);
#else
  __trap();  // not built for sm_90a: skinny_gemm_fits is false, never launched
#endif
}

// The copy-engine kernel's operands: x [rows, k] in boxes of 64 k × the tile's rows, w
// [n, k] in boxes of 64 k × BN columns (cuda_tensor_map.h); x's rows past `rows` land as
// zeros.
struct SkinnyTensorMaps {
  CUtensorMap x;
  CUtensorMap w;
};

// skinny_gemm_kernel with x and w fetched by the copy engine (TMA) and both read by the
// tensor cores from shared memory (wgmma's A by descriptor, no ldmatrix): per step of 64 k,
// thread 0 asks for the step kStages - 1 ahead (two boxes, counted on the stage's
// mbarrier), and a step's wgmmas run while the next step is waited for and issued (one
// group in flight). Under ncu the cp.async kernel spent ~2,300 instructions per warp on 4
// steps (the copies' address arithmetic), waiting for its wgmmas every step (2026-12-02).
// Shapes and dtypes as skinny_gemm_kernel; shared bytes + 64 for the barriers.
template <int WG, int BN>
__global__ void __launch_bounds__(SkinnyTile<WG, BN>::kThreads, 2)
    skinny_gemm_tma_kernel(const SkinnyGemmArgs a, const __grid_constant__ SkinnyTensorMaps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using T = SkinnyTile<WG, BN>;
  extern __shared__ unsigned char shared_bytes[];
  cg::cluster_group cluster = cg::this_cluster();
  const SkinnyBlock<WG, BN> b(a, shared_bytes, cluster);
  uint64_t* full = reinterpret_cast<uint64_t*>(b.stages + T::kSharedBytes);  // one per stage
  const int steps = b.steps;

  if (threadIdx.x == 0) {
    for (int s = 0; s < T::kStages; ++s) mbarrier_init(&full[s], 1);
    mbarrier_init_fence();
  }
  __syncthreads();
  // Thread 0: the weight's box of step `step` (its stage's one arrival, expecting both
  // boxes' bytes), then x's.
  const auto ask_weight = [&](int step) {
    const int s = step % T::kStages;
    mbarrier_arrive_expect_bytes(&full[s], T::kStageBytes);
    tensor_box_2d_to_shared(b.w_stage(s), &maps.w, (b.first + step) * kStepElements,
                            static_cast<int>(b.n0), &full[s]);
  };
  const auto ask_x = [&](int step) {
    const int s = step % T::kStages;
    tensor_box_2d_to_shared(b.x_stage(s), &maps.x, (b.first + step) * kStepElements, b.m0,
                            &full[s]);
  };
  // The weight (which no kernel writes) of the first stages before the wait, x after it.
  if (threadIdx.x == 0) {
    for (int s = 0; s < T::kStages - 1 && s < steps; ++s) ask_weight(s);
  }
  wait_prior_grids();
  if (threadIdx.x == 0) {
    for (int s = 0; s < T::kStages - 1 && s < steps; ++s) ask_x(s);
  }

  const int warpgroup = static_cast<int>(threadIdx.x) / 128;
  float acc[BN / 8][4];
  zero_tiles(acc);
  fence_registers(acc);
  for (int i = 0; i < steps; ++i) {
    const int s = i % T::kStages;
    mbarrier_wait(&full[s], static_cast<uint32_t>(i / T::kStages) % 2);
    const unsigned char* xs = b.x_stage(s) + warpgroup * 64 * 128;  // this warpgroup's rows
    const unsigned char* ws = b.w_stage(s);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kStepElements / 16; ++kk) {
      wgmma_ss_m64k16<BN>(acc, swizzled_desc(xs + kk * 32, 16, 1024),
                          swizzled_desc(ws + kk * 32, 16, 1024));
    }
    wgmma_commit();
    wgmma_wait<1>();  // step i - 1's wgmmas (this warpgroup's) are done
    __syncthreads();  // ... every warpgroup's: step i - 1's stage takes step i + kStages - 1
    const int refill = i + T::kStages - 1;
    if (threadIdx.x == 0 && refill < steps) {
      ask_weight(refill);
      ask_x(refill);
    }
  }
  wgmma_wait<0>();
  fence_registers(acc);
  if (b.cluster_size > 1) __syncthreads();  // every warpgroup's wgmmas have read the stages
  store_tile<WG, BN>(a, acc, b, cluster);
#else
  __trap();  // not built for sm_90a: skinny_gemm_fits is false, never launched
#endif
}

template <int WG, int BN>
constexpr int skinny_shared_bytes() {
  return SkinnyTile<WG, BN>::kSharedBytes + 1024;  // + aligning the dynamic base
}
template <int WG, int BN>
constexpr int skinny_tma_shared_bytes() {
  return skinny_shared_bytes<WG, BN>() + 64;  // + the stages' barriers
}

// matrix_tensor_map, remembered by this thread: encoding one costs the host about a
// microsecond, and a step's projections meet the same few matrices (weights, workspace
// rows) again and again. A map holds only the address and the shape, so one made for
// memory since freed is still right for whatever is allocated there with that shape.
const CUtensorMap& known_matrix_map(const bf16* data, int64_t rows, int64_t cols, int box_rows,
                                    const char* what) {
  using Key = std::tuple<const bf16*, int64_t, int64_t, int>;
  constexpr size_t kMostMaps = 1024;
  thread_local std::map<Key, CUtensorMap> maps;
  if (maps.size() >= kMostMaps) maps.clear();
  const Key key{data, rows, cols, box_rows};
  auto it = maps.find(key);
  if (it == maps.end())
    it = maps.emplace(key, matrix_tensor_map(data, rows, cols, box_rows, what)).first;
  return it->second;
}

// Experimental, off until it beats cuBLASLt in the scenarios: CASCADE_SKINNY_GEMM (read at
// backend creation), set_skinny_gemm.
std::atomic<SkinnyGemmMode> skinny_mode = SkinnyGemmMode::kOff;

template <int WG, int BN>
void launch_skinny(const SkinnyGemmArgs& a, const SkinnyGemmShape& s, cudaStream_t stream) {
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = static_cast<unsigned>(s.cluster);
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  const dim3 grid(static_cast<unsigned>(a.n / BN * s.cluster), static_cast<unsigned>(s.m_tiles));
  if (skinny_mode == SkinnyGemmMode::kCopyEngine) {
    const SkinnyTensorMaps maps{
        known_matrix_map(a.x, a.rows, a.k, SkinnyTile<WG, BN>::kRows, "skinny_gemm x"),
        known_matrix_map(a.w, a.n, a.k, BN, "skinny_gemm w")};
    launch_with_pdl("skinny_gemm_tma_kernel", cluster, skinny_gemm_tma_kernel<WG, BN>, grid,
                    SkinnyTile<WG, BN>::kThreads, skinny_tma_shared_bytes<WG, BN>(), stream, a,
                    maps);
    return;
  }
  launch_with_pdl("skinny_gemm_kernel", cluster, skinny_gemm_kernel<WG, BN>, grid,
                  SkinnyTile<WG, BN>::kThreads, skinny_shared_bytes<WG, BN>(), stream, a);
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

SkinnyGemmShape skinny_gemm_shape(int64_t rows, int64_t n, int64_t k, int sms) {
  SkinnyGemmShape best;
  best.warpgroups = rows > 64 ? 2 : 1;
  best.m_tiles = static_cast<int>((rows + 64 * best.warpgroups - 1) / (64 * best.warpgroups));
  const int64_t steps = k / kStepElements;
  if (skinny_mode == SkinnyGemmMode::kCopyEngine) {
    // Tiles of 64 columns and the smallest cluster whose grid covers about half the SMs:
    // fed by the copy engine, a block's longer run of k-steps is worth more than covering
    // every SM (H200, cold weights, 64 and 128 rows: this choice was the fastest tiling or
    // within 1 µs of it on Qwen3-0.6B's four projections, where covering ~90 % of the SMs
    // was up to 3 µs slower; CudaTiming.SkinnyGemmTilingsColdWeights, 2026-12-02).
    best.tile_columns = 64;
    const int64_t columns = best.m_tiles * (n / 64);
    while (best.cluster < kMaxCluster && 2 * best.cluster <= steps &&
           100 * columns * best.cluster < 48 * int64_t{sms}) {
      best.cluster *= 2;
    }
    return best;
  }
  int64_t best_blocks = 0;
  // The first tile width and cluster size whose grid covers ~90 % of the SMs (wider tiles
  // read x fewer times, smaller clusters reduce less); else the largest grid.
  for (const int bn : {128, 64}) {
    if (n % bn != 0) continue;
    for (int cluster = 1; cluster <= kMaxCluster && cluster <= steps; cluster *= 2) {
      const int64_t blocks = best.m_tiles * (n / bn) * cluster;
      if (blocks > best_blocks) {
        best_blocks = blocks;
        best.tile_columns = bn;
        best.cluster = cluster;
      }
      if (10 * blocks >= 9 * int64_t{sms}) {
        best.tile_columns = bn;
        best.cluster = cluster;
        return best;
      }
    }
  }
  return best;
}

bool skinny_gemm_fits(int64_t rows, int64_t n, int64_t k, const void* x, const void* w,
                      const void* out) {
  return skinny_mode != SkinnyGemmMode::kOff && attention_wgmma_available() &&
         rows > kGemvMaxRows && rows <= kSkinnyGemmMaxRows && n % 64 == 0 &&
         k % kStepElements == 0 && k > 0 && n <= (int64_t{1} << 30) / kMaxCluster &&
         k < (int64_t{1} << 30) && aligned_16(x) && aligned_16(w) && aligned_16(out);
}

void skinny_gemm(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows, int64_t n,
                 int64_t k, int sms, cudaStream_t stream) {
  skinny_gemm_shaped(x, w, bias, out, rows, n, k, skinny_gemm_shape(rows, n, k, sms), stream);
}

void skinny_gemm_shaped(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows,
                        int64_t n, int64_t k, const SkinnyGemmShape& s, cudaStream_t stream) {
  check(s.warpgroups == (rows > 64 ? 2 : 1) && s.m_tiles * 64 * s.warpgroups >= rows &&
            (s.tile_columns == 64 || s.tile_columns == 128) && n % s.tile_columns == 0 &&
            s.cluster >= 1 && s.cluster <= kMaxCluster && (s.cluster & (s.cluster - 1)) == 0 &&
            s.cluster <= k / kStepElements,
        "skinny_gemm: a tiling that does not fit the shape");
  const SkinnyGemmArgs a{
      x, w, bias, out, static_cast<int>(rows), static_cast<int>(n), static_cast<int>(k)};
  if (s.warpgroups == 1) {
    s.tile_columns == 128 ? launch_skinny<1, 128>(a, s, stream)
                          : launch_skinny<1, 64>(a, s, stream);
  } else {
    s.tile_columns == 128 ? launch_skinny<2, 128>(a, s, stream)
                          : launch_skinny<2, 64>(a, s, stream);
  }
  CASCADE_CUDA_CHECK_LAUNCH("skinny_gemm_kernel");
}

void prepare_skinny_gemm() {
  skinny_mode = static_cast<SkinnyGemmMode>(env_int("CASCADE_SKINNY_GEMM", 0, 0, 2));
  if (!attention_wgmma_available()) return;
  const auto allow_shared = [](auto kernel, int bytes) {
    CASCADE_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  };
  allow_shared(skinny_gemm_kernel<1, 64>, skinny_shared_bytes<1, 64>());
  allow_shared(skinny_gemm_kernel<1, 128>, skinny_shared_bytes<1, 128>());
  allow_shared(skinny_gemm_kernel<2, 64>, skinny_shared_bytes<2, 64>());
  allow_shared(skinny_gemm_kernel<2, 128>, skinny_shared_bytes<2, 128>());
  allow_shared(skinny_gemm_tma_kernel<1, 64>, skinny_tma_shared_bytes<1, 64>());
  allow_shared(skinny_gemm_tma_kernel<1, 128>, skinny_tma_shared_bytes<1, 128>());
  allow_shared(skinny_gemm_tma_kernel<2, 64>, skinny_tma_shared_bytes<2, 64>());
  allow_shared(skinny_gemm_tma_kernel<2, 128>, skinny_tma_shared_bytes<2, 128>());
}

void set_skinny_gemm(SkinnyGemmMode mode) {
  skinny_mode = mode;
}

SkinnyGemmMode skinny_gemm_mode() {
  return skinny_mode;
}

}  // namespace cascade::cuda

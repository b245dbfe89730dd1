// Matrix products of steps of 9 to 64 rows (a question over cached chunks, batched decode)
// the way the decode GEMV reads its weight (cuda_gemv.cu): every lane asks for its 16-byte
// pieces of the weight straight into registers, many at a time (the first before the PDL
// wait), and nothing else stands between the weight and the arithmetic, which runs on the
// tensor cores (mma.sync m16n8k16, fp32 accumulation). out[r, n] = x[r, :] · w[n, :]
// (+ bias[n]), bf16.
//
// The weight is the A operand (16 output columns a warp), x the B operand (8 rows a tile,
// up to 8 tiles). A lane's 16 bytes of a weight row are 8 consecutive k, which is not the
// MMA's fragment layout; since both operands take the same order of k, the lane's 8
// elements stand in for the fragment's (k 2c, 2c + 1, 2c + 8, 2c + 9) of two MMAs in a row,
// and x is read the same way: each lane takes 16 bytes of an x row. The sum over k is the
// same, in another order than cuBLASLt's.
//
// A block of 4 warps owns 64 columns, and k is split over a thread block cluster of CS
// blocks (1 to 8, so that the grid holds ~1,024 warps): each block copies its rows' slice of
// x into shared memory once (cp.async) for its 4 warps, and the cluster's partial tiles are
// added in rank order through distributed shared memory (the same order every run), then
// the bias and the rounding.
//
// Experimental, off by default (CASCADE_MMA_GEMV=1). Its first form (61e2744: 16 columns a
// block, k over the block's 8 warps, x read from L1 and L2 by every block) was correct and
// slower than cuBLASLt on the H200 (2026-12-03: at 64 rows 6.6 / 6.9 / 11.1 / 9.5 µs against
// 5.7 / 6.2 / 6.5 / 8.3 for Qwen3-0.6B's QKV / O / gate-up / down; B4 cached +12 to +16 %):
// each block read all of x for its 16 columns, 4x the weight's bytes. This form reads x
// once per 64 columns, from shared memory. Not yet run on a GPU.
#include <cooperative_groups.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_tensor_core.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kColumns = 16 * kWarps;  // output columns of a block (16 a warp: the MMA's M)
constexpr int kBlockK = 32;            // k a lane's two 16-byte pieces cover per step (two MMAs)
constexpr int kStepsInFlight = 8;      // weight steps a lane asks for before it uses any
constexpr int kMinRows = kGemvMaxRows + 1;
constexpr int kMostCluster = 8;
constexpr int kTargetWarps = 1024;  // the grid's warps: 8 a multiprocessor and some
constexpr size_t kMostSharedBytes = 96 * 1024;

// Where a block's slice of x sits in shared memory: rows of `slice` k and a pad that puts
// consecutive rows 16 banks apart, so that the 8 lanes of a 16-byte load phase (2 rows × 4
// pieces) hit 32 different banks.
__host__ __device__ constexpr int64_t x_row_stride(int64_t slice) {
  return slice + (slice / 2 % 32 == 0 ? 32 : 0);
}

// The cluster size for n columns and k: the grid near kTargetWarps, each block's k a
// multiple of kBlockK.
int cluster_for(int64_t n, int64_t k) {
  int cs = 1;
  while (cs < kMostCluster && n / 16 * cs < kTargetWarps) cs *= 2;
  while (cs > 1 && (k % cs != 0 || (k / cs) % kBlockK != 0)) cs /= 2;
  return cs;
}

template <int TILES>
size_t shared_bytes(int64_t k, int cs) {
  const size_t x_bytes = static_cast<size_t>(8 * TILES * x_row_stride(k / cs)) * sizeof(bf16);
  const size_t partial_bytes = size_t{kWarps} * TILES * 4 * 32 * sizeof(float);
  return std::max(x_bytes, partial_bytes);
}

// Shapes and dtypes: x: [rows, k] bf16; w: [n, k] bf16; bias: [n] bf16 or null; out:
// [rows, n] bf16. Grid: n / kColumns · CS blocks in clusters of (CS, 1, 1), CS dividing k
// into multiples of kBlockK; rows <= 8 · TILES; x and w 16-byte aligned; shared_bytes<TILES>
// of dynamic shared memory.
template <int TILES>
__global__ void __launch_bounds__(kThreads)
    mma_gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                    const bf16* __restrict__ bias, bf16* __restrict__ out, int rows, int64_t n,
                    int64_t k) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  const int cs = static_cast<int>(cluster.num_blocks());
  const int rank = static_cast<int>(cluster.block_rank());
  extern __shared__ uint4 mma_gemv_shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, c = lane % 4;  // the MMA's groupID and thread in group
  const int64_t column0 = static_cast<int64_t>(blockIdx.x / cs) * kColumns;
  const int64_t slice = k / cs, k0 = rank * slice, stride = x_row_stride(slice);
  const int steps = static_cast<int>(slice / kBlockK);
  // This lane's weight rows (its warp's columns g and g + 8), at its 8 elements of a step.
  const bf16* w_lo = w + (column0 + 16 * warp + g) * k + k0 + 8 * c;
  const bf16* w_hi = w_lo + 8 * k;

  // The weight is written by no kernel: its first loads go out before the wait.
  uint4 lo[kStepsInFlight], hi[kStepsInFlight];
  const auto load_weights = [&](int step0) {
#pragma unroll
    for (int s = 0; s < kStepsInFlight; ++s) {
      if (step0 + s < steps) {
        lo[s] = __ldcs(reinterpret_cast<const uint4*>(w_lo + (step0 + s) * kBlockK));
        hi[s] = __ldcs(reinterpret_cast<const uint4*>(w_hi + (step0 + s) * kBlockK));
      }
    }
  };
  load_weights(0);
  release_dependents();
  wait_prior_grids();
  // The block's slice of x: [8 · TILES, slice] at `stride`, zeros past the step's rows.
  bf16* xs = reinterpret_cast<bf16*>(mma_gemv_shared);
  const int64_t pieces = 8 * TILES * (slice / 8);
  for (int64_t i = threadIdx.x; i < pieces; i += kThreads) {
    const int64_t r = i / (slice / 8), p = i % (slice / 8);
    const bool valid = r < rows;
    copy_16_async(xs + r * stride + 8 * p, x + (valid ? r * k + k0 + 8 * p : 0), valid ? 16 : 0);
  }
  copies_wait_all();
  __syncthreads();

  float acc[TILES][4];
  zero_tiles(acc);
  const bf16* x_lane = xs + g * stride + 8 * c;
  for (int step0 = 0; step0 < steps; step0 += kStepsInFlight) {
    if (step0 > 0) load_weights(step0);
#pragma unroll
    for (int s = 0; s < kStepsInFlight; ++s) {
      if (step0 + s >= steps) break;
      const int64_t kk = static_cast<int64_t>(step0 + s) * kBlockK;
      const uint32_t a0[4] = {lo[s].x, hi[s].x, lo[s].y, hi[s].y};
      const uint32_t a1[4] = {lo[s].z, hi[s].z, lo[s].w, hi[s].w};
#pragma unroll
      for (int t = 0; t < TILES; ++t) {
        const uint4 b = *reinterpret_cast<const uint4*>(x_lane + 8 * t * stride + kk);
        mma_bf16(acc[t], a0, b.x, b.y);
        mma_bf16(acc[t], a1, b.z, b.w);
      }
    }
  }

  // acc[t][e]: column 16 · warp + g + 8 · (e / 2), row 8t + 2c + e % 2. The block's partial
  // tile replaces its slice of x; block `rank` then adds every block's value of its share of
  // the tile's elements, in rank order.
  __syncthreads();
  float* partial = reinterpret_cast<float*>(mma_gemv_shared);
#pragma unroll
  for (int t = 0; t < TILES; ++t) {
#pragma unroll
    for (int e = 0; e < 4; ++e) partial[((warp * TILES + t) * 4 + e) * 32 + lane] = acc[t][e];
  }
  cluster.sync();
  constexpr int kElements = kWarps * TILES * 4 * 32;
  const int share = (kElements + cs - 1) / cs;
  const int end = min(kElements, (rank + 1) * share);
  for (int i = rank * share + static_cast<int>(threadIdx.x); i < end; i += kThreads) {
    const int l = i % 32, e = i / 32 % 4, t = i / 128 % TILES, wp = i / (128 * TILES);
    const int row = 8 * t + 2 * (l % 4) + e % 2;
    if (row >= rows) continue;
    float v = 0.0f;
    for (int b = 0; b < cs; ++b) v += *cluster.map_shared_rank(partial + i, b);
    const int64_t column = column0 + 16 * wp + l / 4 + 8 * (e / 2);
    if (bias) v += __bfloat162float(bias[column]);
    out[static_cast<int64_t>(row) * n + column] = __float2bfloat16(v);
  }
  cluster.sync();  // the other blocks' reads of this block's partial tile are done
#endif
}

template <int TILES>
void launch_tiles(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows,
                  int64_t n, int64_t k, cudaStream_t stream) {
  const int cs = cluster_for(n, k);
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = static_cast<unsigned>(cs);
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  launch_with_pdl("mma_gemv_kernel", cluster, mma_gemv_kernel<TILES>,
                  static_cast<unsigned>(n / kColumns * cs), kThreads, shared_bytes<TILES>(k, cs),
                  stream, x, w, bias, out, static_cast<int>(rows), n, k);
  CASCADE_CUDA_CHECK_LAUNCH("mma_gemv_kernel");
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

std::atomic<bool> mma_gemv_on = false;  // CASCADE_MMA_GEMV (experimental)

}  // namespace

bool mma_gemv_fits(int64_t rows, int64_t n, int64_t k, const void* x, const void* w) {
  return mma_gemv_on.load(std::memory_order_relaxed) && rows >= kMinRows &&
         rows <= kMmaGemvMaxRows && n % kColumns == 0 && k % kBlockK == 0 &&
         shared_bytes<8>(k, cluster_for(n, k)) <= kMostSharedBytes && aligned_16(x) &&
         aligned_16(w);
}

void mma_gemv(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows, int64_t n,
              int64_t k, cudaStream_t stream) {
  using Launch = void (*)(const bf16*, const bf16*, const bf16*, bf16*, int64_t, int64_t, int64_t,
                          cudaStream_t);
  // By row tiles of 8: 2 to 8.
  static constexpr Launch kLaunches[] = {nullptr,         nullptr,         launch_tiles<2>,
                                         launch_tiles<3>, launch_tiles<4>, launch_tiles<5>,
                                         launch_tiles<6>, launch_tiles<7>, launch_tiles<8>};
  if (rows < kMinRows || rows > kMmaGemvMaxRows) {
    throw Error("mma_gemv: " + std::to_string(rows) + " rows (" + std::to_string(kMinRows) +
                " to " + std::to_string(kMmaGemvMaxRows) + " are supported)");
  }
  kLaunches[(rows + 7) / 8](x, w, bias, out, rows, n, k, stream);
}

void prepare_mma_gemv() {
  set_mma_gemv(env_int("CASCADE_MMA_GEMV", 0, 0, 1) == 1);
  const auto allow = [](auto kernel) {
    CASCADE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(kMostSharedBytes)));
  };
  allow(mma_gemv_kernel<2>);
  allow(mma_gemv_kernel<3>);
  allow(mma_gemv_kernel<4>);
  allow(mma_gemv_kernel<5>);
  allow(mma_gemv_kernel<6>);
  allow(mma_gemv_kernel<7>);
  allow(mma_gemv_kernel<8>);
}

void set_mma_gemv(bool on) {
  mma_gemv_on = on;
}

bool mma_gemv_enabled() {
  return mma_gemv_on;
}

}  // namespace cascade::cuda

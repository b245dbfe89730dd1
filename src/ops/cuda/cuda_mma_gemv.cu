// Matrix products of steps of 9 to 64 rows (a question over cached chunks, batched decode)
// the way the decode GEMV reads its weight (cuda_gemv.cu): every lane asks for its 16-byte
// pieces of the weight straight into registers, many at a time, and nothing else stands
// between the weight and the arithmetic, which runs on the tensor cores (mma.sync
// m16n8k16, fp32 accumulation). out[r, n] = x[r, :] · w[n, :] (+ bias[n]), bf16.
//
// The weight is the A operand (16 output columns a warp), x the B operand (8 rows a tile,
// up to 8 tiles). A lane's 16 bytes of a weight row are 8 consecutive k, which is not the
// MMA's fragment layout; since both operands take the same order of k, the lane's 8
// elements stand in for the fragment's (k 2c, 2c + 1, 2c + 8, 2c + 9) of two MMAs in a row,
// and x is read the same way: each lane takes 16 bytes of an x row. The sum over k is the
// same, in another order than cuBLASLt's. A block of 8 warps owns 16 columns, each warp an
// eighth of k; the warps' partial tiles are added in warp order through shared memory
// (the same order every run), then the bias and the rounding.
//
// Why: cuBLASLt takes 7-10 µs per projection at these sizes, where the weight's read is
// 1-3 µs (B4's cached step, B2 and B3; docs/BENCHMARKS.md), and the skinny wgmma GEMM
// (cuda_skinny_gemm.cu) spent its short life on copies' address arithmetic.
//
// Experimental, off by default (CASCADE_MMA_GEMV=1): correct (tested against the CPU, and
// the model's tokens equal the CPU's with it on) but slower than cuBLASLt on the H200
// (2026-12-03): alone with cold weights at 64 rows 6.6 / 6.9 / 11.1 / 9.5 µs against 5.7 /
// 6.2 / 6.5 / 8.3 for Qwen3-0.6B's QKV / O / gate-up / down; B4 cached 2.87-2.98 ms against
// 2.56-2.63, B2 batch 64 -11 %, B3 -15 %. Each block reads all of x for its 16 columns: at
// 64 rows 4x the weight's bytes, from L1 and L2. What would fix it: more columns per block
// sharing x through shared memory, k split over a cluster to keep the grid full.
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

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kColumns = 16;       // output columns of a block (the MMA's M)
constexpr int kBlockK = 32;        // k a lane's two 16-byte pieces cover per step (two MMAs)
constexpr int kStepsInFlight = 4;  // weight steps a lane asks for before it uses any
constexpr int kMinRows = kGemvMaxRows + 1;

// Shapes and dtypes: x: [rows, k] bf16; w: [n, k] bf16; bias: [n] bf16 or null; out:
// [rows, n] bf16. k % (kWarps · kBlockK) == 0, n % kColumns == 0, rows <= 8 · TILES; x and
// w 16-byte aligned.
template <int TILES>
__global__ void __launch_bounds__(kThreads, 2)
    mma_gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                    const bf16* __restrict__ bias, bf16* __restrict__ out, int rows, int64_t n,
                    int64_t k) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, c = lane % 4;  // the MMA's groupID and thread in group
  const int64_t column0 = static_cast<int64_t>(blockIdx.x) * kColumns;
  const int64_t slice = k / kWarps, k_begin = warp * slice;
  const int steps = static_cast<int>(slice / kBlockK);
  // This lane's weight rows (columns g and g + 8) and x rows (g of each tile), at its
  // 8 elements of a step.
  const bf16* w_lo = w + (column0 + g) * k + k_begin + 8 * c;
  const bf16* w_hi = w_lo + 8 * k;
  const bf16* x_lane = x + static_cast<int64_t>(g) * k + k_begin + 8 * c;

  float acc[TILES][4];
  zero_tiles(acc);
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
        uint4 b = make_uint4(0, 0, 0, 0);  // rows past the step's: zeros
        if (8 * t + g < rows) {
          b = *reinterpret_cast<const uint4*>(x_lane + static_cast<int64_t>(8 * t) * k + kk);
        }
        mma_bf16(acc[t], a0, b.x, b.y);
        mma_bf16(acc[t], a1, b.z, b.w);
      }
    }
  }

  // acc[t][e]: column g + 8 · (e / 2), row 8t + 2c + e % 2. The warps' tiles meet in warp
  // order.
  __shared__ float partial[kWarps][TILES][4][32];
#pragma unroll
  for (int t = 0; t < TILES; ++t) {
#pragma unroll
    for (int e = 0; e < 4; ++e) partial[warp][t][e][lane] = acc[t][e];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < TILES * 4 * 32; i += kThreads) {
    const int t = i / 128, e = i / 32 % 4, l = i % 32;
    const int row = 8 * t + 2 * (l % 4) + e % 2;
    if (row >= rows) continue;
    const int64_t column = column0 + l / 4 + 8 * (e / 2);
    float v = 0.0f;
#pragma unroll
    for (int p = 0; p < kWarps; ++p) v += partial[p][t][e][l];
    if (bias) v += __bfloat162float(bias[column]);
    out[static_cast<int64_t>(row) * n + column] = __float2bfloat16(v);
  }
}

template <int TILES>
void launch_tiles(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows,
                  int64_t n, int64_t k, cudaStream_t stream) {
  launch("mma_gemv_kernel", mma_gemv_kernel<TILES>, static_cast<unsigned>(n / kColumns), kThreads,
         0, stream, x, w, bias, out, static_cast<int>(rows), n, k);
  CASCADE_CUDA_CHECK_LAUNCH("mma_gemv_kernel");
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

std::atomic<bool> mma_gemv_on = false;  // CASCADE_MMA_GEMV (experimental)

}  // namespace

bool mma_gemv_fits(int64_t rows, int64_t n, int64_t k, const void* x, const void* w) {
  return mma_gemv_on.load(std::memory_order_relaxed) && rows >= kMinRows &&
         rows <= kMmaGemvMaxRows && n % kColumns == 0 && k % (kWarps * kBlockK) == 0 &&
         aligned_16(x) && aligned_16(w);
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
}

void set_mma_gemv(bool on) {
  mma_gemv_on = on;
}

bool mma_gemv_enabled() {
  return mma_gemv_on;
}

}  // namespace cascade::cuda

// A decoder layer's whole MLP for steps of a few rows (decode), as one kernel:
//   act = silu(g) · u, [g | u] = rms_norm(residual) · w_gate_upᵀ;  residual += act · w_downᵀ.
// Experimental, off by default (CASCADE_DECODE_MLP=1|2): on B6 it measured 9-10 % slower
// than the two GEMV kernels it replaces (docs/BENCHMARKS.md, 2026-12-01 13:00 UTC).
//
// The idea: as two GEMVs (cuda_gemv.cu) the down projection cannot read its weights
// before the up projection has finished, and each kernel pays its own start and tail
// (B6's MLP, Qwen2.5-0.5B, 26 MB of weights: 10.3 + 6.4 µs, ~1.6 TB/s). Here a persistent
// grid of one block per SM asks for all of the block's weights of both projections at its
// start (mode 1: 16-byte copies by every thread; mode 2: bulk copies by the SM's copy
// engine, one transaction barrier per warp for its up rows and one for the block's down
// rows), normalizes the rows while they land, computes its columns of act, waits at a grid
// barrier (cooperative launch) for every block's act, and computes its columns of the down
// projection from weights already in shared memory. Each column is summed as the GEMVs sum
// it (the same slices and order), so act and the residual get the GEMVs' bits.
//
// Measured: the kernel takes ~20 µs (ncu), DRAM 27 % busy, in both copy modes and with 8
// or 32 warps per block, so neither the copies nor the issue rate is what bounds it; one
// block per SM (the weights take ~200 KB of shared memory) and the grid barrier are what
// the two GEMVs (40 warps per SM each) do not have.
#include <cooperative_groups.h>

#include <algorithm>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_gemv.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_mbarrier.cuh"

namespace cascade::cuda {
namespace {

// 32 warps: with 8 (one block per SM) ncu found 3,700 instructions per warp at one per 9.7
// cycles; 32 shorten each warp's chain (B6 did not change: 1,002-1,012 vs 978-995 tok/s).
constexpr int kWarps = 32;
constexpr int kThreads = kWarps * 32;
// Shared memory the kernel declares statically (norm sums, barriers), kept out of the
// dynamic budget.
constexpr size_t kStaticSharedBytes = 1024;

struct DecodeMlpArgs {
  bf16* residual;           // [ROWS, dim]
  const bf16* norm_weight;  // [dim]
  float eps;
  const bf16* w_gate_up;  // [2n, dim]
  const bf16* w_down;     // [dim, n]
  bf16* act;              // [ROWS, n]
  int64_t dim, n;
  int64_t up_columns, down_columns;  // per block (the last blocks may have fewer or none)
  bool act_in_up_rows;               // act's rows staged where the up rows were (they fit there)
  bool thread_copies;                // 16-byte copies by every thread instead of bulk copies
};

// [begin, end) of `parts` about equal consecutive pieces of `total`, piece `index`.
__device__ __forceinline__ int2 split_range(int total, int parts, int index) {
  const int base = total / parts, extra = total % parts;
  const int begin = index * base + min(index, extra);
  return make_int2(begin, begin + base + (index < extra ? 1 : 0));
}

// out[r] = the lanes' sum of x[r, slice] · w[slice] for the slice starting at `begin`
// (< k), as the GEMV's warp of that slice sums it: each lane's products in piece order from
// 0, then warp_sum. Every lane gets the sums.
template <int ROWS>
__device__ __forceinline__ void slice_dot(const bf16* w, const bf16* x, int64_t k, int64_t begin,
                                          int lane, float (&out)[ROWS]) {
  float acc[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
#pragma unroll
  for (int i = 0; i < kGemvLoadsPerLane; ++i) {
    const int64_t c = slice_piece(begin, i, lane);
    if (c >= k) break;
    const uint4 wv = *reinterpret_cast<const uint4*>(w + c);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      acc[r] += dot8(wv, *reinterpret_cast<const uint4*>(x + r * k + c));
    }
  }
#pragma unroll
  for (int r = 0; r < ROWS; ++r) out[r] = warp_sum(acc[r]);
}

// out[r] = x[r, :] · w for ROWS rows of k elements, w and x in shared memory, summed as the
// GEMV sums a column: `slices` slices (slice_dot), their sums added in order from 0 (an
// empty slice adds +0). Every lane gets the sums.
template <int ROWS>
__device__ __forceinline__ void column_dot(const bf16* w, const bf16* x, int64_t k, int slices,
                                           int lane, float (&out)[ROWS]) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) out[r] = 0.0f;
  for (int s = 0; s < slices; ++s) {
    const int64_t begin = int64_t{s} * kGemvSliceElements;
    float part[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) part[r] = 0.0f;
    if (begin < k) slice_dot<ROWS>(w, x, k, begin, lane, part);
#pragma unroll
    for (int r = 0; r < ROWS; ++r) out[r] += part[r];
  }
}

// bytes from src to dst (shared) as 16-byte asynchronous copies, thread `index` of `count`
// taking copies index, index + count, ...
__device__ __forceinline__ void copy_async(bf16* dst, const bf16* src, uint32_t bytes, int index,
                                           int count) {
  for (uint32_t i = index; i < bytes / 16; i += count) {
    copy_16_async(reinterpret_cast<uint4*>(dst) + i, reinterpret_cast<const uint4*>(src) + i, 16);
  }
}

// values[lane] without indexing registers by a variable.
template <int ROWS>
__device__ __forceinline__ float row_of_lane(const float (&values)[ROWS], int lane) {
  float v = 0.0f;
#pragma unroll
  for (int r = 0; r < ROWS; ++r) v = r == lane ? values[r] : v;
  return v;
}

// Shapes and dtypes: DecodeMlpArgs. dim % 8 == 0, n % 8 == 0, both <= 8,192; every pointer
// 16-byte aligned. Dynamic shared memory: decode_mlp_shared_bytes. Launched cooperatively
// on at most as many blocks as can be resident at once.
template <int ROWS>
__global__ void __launch_bounds__(kThreads, 1) decode_mlp_kernel(const DecodeMlpArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900  // bulk copies, transaction barriers
  extern __shared__ __align__(128) unsigned char shared[];
  __shared__ uint64_t landed_up[kWarps];  // per warp: its up rows
  __shared__ uint64_t landed_down;        // the block's down rows
  const int64_t dim = a.dim, n = a.n;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // Shared memory: gate rows, up rows [up_columns, dim]; down rows [down_columns, n];
  // normed rows [ROWS, dim]; act's rows [ROWS, n], over the gate and up rows once those are
  // used where they fit there, else after the normed rows; the down projection's slice sums
  // [down_columns, slices, ROWS] f32.
  bf16* gate_rows = reinterpret_cast<bf16*>(shared);
  bf16* up_rows = gate_rows + a.up_columns * dim;
  bf16* down_rows = up_rows + a.up_columns * dim;
  bf16* normed = down_rows + a.down_columns * n;
  bf16* act_rows = a.act_in_up_rows ? gate_rows : normed + ROWS * dim;
  float* down_sums =
      reinterpret_cast<float*>(normed + ROWS * dim + (a.act_in_up_rows ? 0 : ROWS * n));

  const int64_t up0 = blockIdx.x * a.up_columns, down0 = blockIdx.x * a.down_columns;
  const auto columns_left = [](int64_t per_block, int64_t total, int64_t first) {
    return static_cast<int>(first >= total ? 0 : min(per_block, total - first));
  };
  const int up_count = columns_left(a.up_columns, n, up0);
  const int down_count = columns_left(a.down_columns, dim, down0);
  const int2 ups = split_range(up_count, kWarps, warp);

  if (threadIdx.x <= kWarps) {
    mbarrier_init(threadIdx.x < kWarps ? &landed_up[threadIdx.x] : &landed_down, 1);
    mbarrier_init_fence();
  }
  __syncthreads();
  wait_prior_grids();
  // This warp's up rows and the block's down rows, all asked for now.
  const auto up_bytes = static_cast<uint32_t>((ups.y - ups.x) * dim * sizeof(bf16));
  const auto down_bytes = static_cast<uint32_t>(down_count * n * sizeof(bf16));
  const int64_t first = up0 + ups.x;
  if (a.thread_copies) {  // 16 bytes per copy, the up rows' group first
    copy_async(gate_rows + ups.x * dim, a.w_gate_up + first * dim, up_bytes, lane, 32);
    copy_async(up_rows + ups.x * dim, a.w_gate_up + (n + first) * dim, up_bytes, lane, 32);
    copies_commit();
    copy_async(down_rows, a.w_down + down0 * n, down_bytes, threadIdx.x, kThreads);
    copies_commit();
  } else if (lane == 0) {  // bulk copies: the transactions expected first, then the copies
    mbarrier_arrive_expect_bytes(&landed_up[warp], 2 * up_bytes);
    if (up_bytes > 0) {
      bulk_copy_to_shared(gate_rows + ups.x * dim, a.w_gate_up + first * dim, up_bytes,
                          &landed_up[warp]);
      bulk_copy_to_shared(up_rows + ups.x * dim, a.w_gate_up + (n + first) * dim, up_bytes,
                          &landed_up[warp]);
    }
    if (warp == 0) {  // the block's down rows
      mbarrier_arrive_expect_bytes(&landed_down, down_bytes);
      if (down_bytes > 0) {
        bulk_copy_to_shared(down_rows, a.w_down + down0 * n, down_bytes, &landed_down);
      }
    }
  }
  normalize_rows<ROWS>(a.residual, a.norm_weight, a.eps, dim, normed);

  // Up projection and activation: lane r of the column's warp writes row r.
  const int up_slices = gemv_slices(dim);
  if (a.thread_copies) {  // this warp's lanes copied its up rows
    copies_wait_pending<1>();
    __syncwarp();
  } else {
    mbarrier_wait(&landed_up[warp], 0);
  }
  for (int j = ups.x; j < ups.y; ++j) {
    float g[ROWS], u[ROWS];
    column_dot<ROWS>(gate_rows + j * dim, normed, dim, up_slices, lane, g);
    column_dot<ROWS>(up_rows + j * dim, normed, dim, up_slices, lane, u);
    if (lane < ROWS) {
      const float gb = __bfloat162float(__float2bfloat16(row_of_lane<ROWS>(g, lane)));
      const float ub = __bfloat162float(__float2bfloat16(row_of_lane<ROWS>(u, lane)));
      a.act[lane * n + up0 + j] = __float2bfloat16(gb / (1.0f + expf(-gb)) * ub);
    }
  }

  // Every block's act written and visible (the grid barrier also ends every block's reads
  // of the residual for its norm, which the down projection then adds into, and of its up
  // rows, which act's rows may overwrite: the copies into them were waited for).
  cooperative_groups::this_grid().sync();
  const int64_t act_pieces = ROWS * n / 8;
  for (int64_t i = threadIdx.x; i < act_pieces; i += kThreads) {  // L2, not a stale L1 line
    reinterpret_cast<uint4*>(act_rows)[i] = __ldcg(reinterpret_cast<const uint4*>(a.act) + i);
  }
  if (a.thread_copies) copies_wait_pending<0>();  // published by the barrier
  __syncthreads();

  // Down projection into the residual: warp w takes the (column, slice) pairs w, w + 32, ...;
  // then thread (column, row) adds the column's slice sums in order, rounds the product to
  // bf16 and adds it.
  const int down_slices = gemv_slices(n);
  if (!a.thread_copies) mbarrier_wait(&landed_down, 0);
  for (int t = warp; t < down_count * down_slices; t += kWarps) {
    const int j = t / down_slices, slice = t % down_slices;
    const int64_t begin = int64_t{slice} * kGemvSliceElements;
    float part[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) part[r] = 0.0f;
    if (begin < n) slice_dot<ROWS>(down_rows + j * n, act_rows, n, begin, lane, part);
    if (lane < ROWS)
      down_sums[(j * down_slices + slice) * ROWS + lane] = row_of_lane<ROWS>(part, lane);
  }
  __syncthreads();
  if (threadIdx.x < down_count * ROWS) {
    const int j = threadIdx.x / ROWS, r = threadIdx.x % ROWS;
    float v = 0.0f;
    for (int slice = 0; slice < down_slices; ++slice)
      v += down_sums[(j * down_slices + slice) * ROWS + r];
    bf16* o = a.residual + r * dim + down0 + j;
    *o = __float2bfloat16(__bfloat162float(*o) + __bfloat162float(__float2bfloat16(v)));
  }
#endif
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Whether act's rows [rows, n] fit where the block's gate and up rows were.
bool act_in_up_rows(int64_t rows, int64_t dim, int64_t n, int blocks) {
  return rows * n <= 2 * ceil_div(n, blocks) * dim;
}

size_t decode_mlp_shared_bytes(int64_t rows, int64_t dim, int64_t n, int blocks) {
  const int64_t up_columns = ceil_div(n, blocks), down_columns = ceil_div(dim, blocks);
  const int64_t act = act_in_up_rows(rows, dim, n, blocks) ? 0 : rows * n;
  const int64_t elements = 2 * up_columns * dim + down_columns * n + rows * dim + act;
  const int64_t sums = down_columns * gemv_slices(n) * rows;
  return static_cast<size_t>(elements) * sizeof(bf16) + static_cast<size_t>(sums) * sizeof(float);
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

template <int ROWS>
void launch_rows(const DecodeMlpArgs& a, const DecodeMlpDevice& device, size_t shared,
                 cudaStream_t stream) {
  const auto kernel = decode_mlp_kernel<ROWS>;
  const int blocks = device.blocks;
  // The device's whole budget (decode_mlp_fits keeps every launch within it), never a
  // launch's own size: a smaller later launch would lower the limit under a recorded graph
  // whose node needs more.
  CASCADE_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(device.shared_bytes - kStaticSharedBytes)));
  cudaLaunchAttribute cooperative{};  // the grid barrier needs every block resident
  cooperative.id = cudaLaunchAttributeCooperative;
  cooperative.val.cooperative = 1;
  launch_with("decode_mlp_kernel", cooperative, kernel, dim3(static_cast<unsigned>(blocks)),
              dim3(kThreads), shared, stream, a);
}

}  // namespace

bool decode_mlp_fits(const DecodeMlpDevice& device, int64_t rows, int64_t dim, int64_t n,
                     std::initializer_list<const void*> pointers) {
  if (device.blocks <= 0 || rows < 1 || rows > kGemvMaxRows) return false;
  if (dim % 8 != 0 || n % 8 != 0 || gemv_slices(dim) > kGemvMaxSlices ||
      gemv_slices(n) > kGemvMaxSlices) {
    return false;
  }
  if (!std::all_of(pointers.begin(), pointers.end(), aligned_16)) return false;
  return decode_mlp_shared_bytes(rows, dim, n, device.blocks) + kStaticSharedBytes <=
         device.shared_bytes;
}

void decode_mlp(const DecodeMlpDevice& device, bf16* residual, const bf16* norm_weight, float eps,
                const bf16* w_gate_up, const bf16* w_down, bf16* act, int64_t rows, int64_t dim,
                int64_t n, cudaStream_t stream) {
  const int blocks = device.blocks;
  const DecodeMlpArgs a{residual,
                        norm_weight,
                        eps,
                        w_gate_up,
                        w_down,
                        act,
                        dim,
                        n,
                        ceil_div(n, blocks),
                        ceil_div(dim, blocks),
                        act_in_up_rows(rows, dim, n, blocks),
                        !device.bulk_copies};
  const size_t shared = decode_mlp_shared_bytes(rows, dim, n, blocks);
  switch (rows) {
    case 1:
      return launch_rows<1>(a, device, shared, stream);
    case 2:
      return launch_rows<2>(a, device, shared, stream);
    case 3:
      return launch_rows<3>(a, device, shared, stream);
    case 4:
      return launch_rows<4>(a, device, shared, stream);
    case 5:
      return launch_rows<5>(a, device, shared, stream);
    case 6:
      return launch_rows<6>(a, device, shared, stream);
    case 7:
      return launch_rows<7>(a, device, shared, stream);
    case 8:
      return launch_rows<8>(a, device, shared, stream);
    default:
      throw Error("decode_mlp: " + std::to_string(rows) + " rows (1 to 8 are supported)");
  }
}

DecodeMlpDevice decode_mlp_device(int device, int mode) {
  int cooperative = 0, sms = 0, shared = 0;
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  CASCADE_CUDA_CHECK(
      cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  int major = 0;
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  // Bulk copies and transaction barriers: compute capability 9.0 or later.
  if (mode == 0 || cooperative == 0 || major < 9) return {};
  return {sms, static_cast<size_t>(shared), mode == 2};
}

}  // namespace cascade::cuda

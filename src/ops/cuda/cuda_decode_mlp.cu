// A decoder layer's whole MLP for steps of a few rows (decode), as one kernel:
//   act = silu(g) · u, [g | u] = rms_norm(residual) · w_gate_upᵀ;  residual += act · w_downᵀ.
// As two GEMV kernels (cuda_gemv.cu) the down projection could not start reading its
// weights before the up projection had finished, and each kernel paid its own start and
// tail: B6's MLP (Qwen2.5-0.5B, 26 MB of weights) took 10.3 + 6.4 µs, ~1.6 TB/s. Here a
// persistent grid of one block per SM asks the SM's copy engine for all of the block's
// weights of both projections at its start (bulk copies into shared memory, one
// transaction barrier per warp and projection), normalizes the rows while they land,
// computes its columns of act, waits at a grid-wide barrier (cooperative launch) for every
// block's act, and computes its columns of the down projection from weights that have long
// been in shared memory. Each column is summed as the GEMVs sum it (one warp, the same
// slices and order), so act and the residual get the GEMVs' bits.
#include <cooperative_groups.h>

#include <algorithm>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_gemv.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"
#include "ops/cuda/cuda_mbarrier.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = kGemvWarps;
constexpr int kThreads = kGemvThreads;
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
  int64_t staged;                    // elements of the region for act's rows (>= ROWS · n)
};

// [begin, end) of `parts` about equal consecutive pieces of `total`, piece `index`.
__device__ __forceinline__ int2 split_range(int total, int parts, int index) {
  const int base = total / parts, extra = total % parts;
  const int begin = index * base + min(index, extra);
  return make_int2(begin, begin + base + (index < extra ? 1 : 0));
}

// out[r] = x[r, :] · w for ROWS rows of k elements, w and x in shared memory, summed as the
// GEMV sums a column: `slices` slices of kGemvSliceElements, each lane's products in piece
// order, the slice's lanes by warp_sum, the slices' sums in order from 0. Every lane gets
// the sums.
template <int ROWS>
__device__ __forceinline__ void column_dot(const bf16* w, const bf16* x, int64_t k, int slices,
                                           int lane, float (&out)[ROWS]) {
#pragma unroll
  for (int r = 0; r < ROWS; ++r) out[r] = 0.0f;
  for (int s = 0; s < slices; ++s) {
    const int64_t begin = int64_t{s} * kGemvSliceElements;
    if (begin >= k) {  // an empty slice adds +0, as in the GEMV
#pragma unroll
      for (int r = 0; r < ROWS; ++r) out[r] += 0.0f;
      continue;
    }
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
    for (int r = 0; r < ROWS; ++r) out[r] += warp_sum(acc[r]);
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
  __shared__ uint64_t landed[2][kWarps];  // per warp: its up rows, its down rows
  const int64_t dim = a.dim, n = a.n;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // Shared memory: gate rows, up rows [up_columns, dim]; down rows [down_columns, n];
  // normed rows [ROWS, dim]; act's rows [ROWS, n] (a region of `staged` elements).
  bf16* gate_rows = reinterpret_cast<bf16*>(shared);
  bf16* up_rows = gate_rows + a.up_columns * dim;
  bf16* down_rows = up_rows + a.up_columns * dim;
  bf16* normed = down_rows + a.down_columns * n;
  bf16* act_rows = normed + ROWS * dim;

  const int64_t up0 = blockIdx.x * a.up_columns, down0 = blockIdx.x * a.down_columns;
  const auto columns_left = [](int64_t per_block, int64_t total, int64_t first) {
    return static_cast<int>(first >= total ? 0 : min(per_block, total - first));
  };
  const int up_count = columns_left(a.up_columns, n, up0);
  const int down_count = columns_left(a.down_columns, dim, down0);
  const int2 ups = split_range(up_count, kWarps, warp);
  const int2 downs = split_range(down_count, kWarps, warp);

  if (threadIdx.x < 2 * kWarps) {
    mbarrier_init(&landed[0][0] + threadIdx.x, 1);
    mbarrier_init_fence();
  }
  __syncthreads();
  wait_prior_grids();
  if (lane == 0) {  // this warp's weights, all asked for now
    const auto up_bytes = static_cast<uint32_t>((ups.y - ups.x) * dim * sizeof(bf16));
    mbarrier_arrive_expect_bytes(&landed[0][warp], 2 * up_bytes);
    if (up_bytes > 0) {
      const int64_t first = up0 + ups.x;
      bulk_copy_to_shared(gate_rows + ups.x * dim, a.w_gate_up + first * dim, up_bytes,
                          &landed[0][warp]);
      bulk_copy_to_shared(up_rows + ups.x * dim, a.w_gate_up + (n + first) * dim, up_bytes,
                          &landed[0][warp]);
    }
    const auto down_bytes = static_cast<uint32_t>((downs.y - downs.x) * n * sizeof(bf16));
    mbarrier_arrive_expect_bytes(&landed[1][warp], down_bytes);
    if (down_bytes > 0) {
      bulk_copy_to_shared(down_rows + downs.x * n, a.w_down + (down0 + downs.x) * n, down_bytes,
                          &landed[1][warp]);
    }
  }
  normalize_rows<ROWS>(a.residual, a.norm_weight, a.eps, dim, normed);

  // Up projection and activation: lane r of the column's warp writes row r.
  const int up_slices = gemv_slices(dim);
  mbarrier_wait(&landed[0][warp], 0);
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
  // of the residual for its norm, which the down projection then adds into).
  cooperative_groups::this_grid().sync();
  const int64_t act_pieces = ROWS * n / 8;
  for (int64_t i = threadIdx.x; i < act_pieces; i += kThreads) {  // L2, not a stale L1 line
    reinterpret_cast<uint4*>(act_rows)[i] = __ldcg(reinterpret_cast<const uint4*>(a.act) + i);
  }
  __syncthreads();

  // Down projection into the residual: the product rounded to bf16, then added.
  const int down_slices = gemv_slices(n);
  mbarrier_wait(&landed[1][warp], 0);
  for (int j = downs.x; j < downs.y; ++j) {
    float v[ROWS];
    column_dot<ROWS>(down_rows + j * n, act_rows, n, down_slices, lane, v);
    if (lane < ROWS) {
      bf16* o = a.residual + lane * dim + down0 + j;
      const float product = __bfloat162float(__float2bfloat16(row_of_lane<ROWS>(v, lane)));
      *o = __float2bfloat16(__bfloat162float(*o) + product);
    }
  }
#endif
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The region for act's rows: in a block of its own (it could reuse the up rows' region
// once they are consumed, but the barriers' hand-over between the copy engine and the
// threads is simpler without it).
int64_t staged_elements(int64_t rows, int64_t n) {
  return rows * n;
}

size_t decode_mlp_shared_bytes(int64_t rows, int64_t dim, int64_t n, int blocks) {
  const int64_t up_columns = ceil_div(n, blocks), down_columns = ceil_div(dim, blocks);
  const int64_t elements =
      2 * up_columns * dim + down_columns * n + rows * dim + staged_elements(rows, n);
  return static_cast<size_t>(elements) * sizeof(bf16);
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

template <int ROWS>
void launch_rows(const DecodeMlpArgs& a, int blocks, size_t shared, cudaStream_t stream) {
  const auto kernel = decode_mlp_kernel<ROWS>;
  CASCADE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(shared)));
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(blocks));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeCooperative;
  attribute.val.cooperative = 1;
  config.attrs = &attribute;
  config.numAttrs = 1;
  check_launch(cudaLaunchKernelEx(&config, kernel, a), "decode_mlp_kernel");
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
                        staged_elements(rows, n)};
  const size_t shared = decode_mlp_shared_bytes(rows, dim, n, blocks);
  switch (rows) {
    case 1:
      return launch_rows<1>(a, blocks, shared, stream);
    case 2:
      return launch_rows<2>(a, blocks, shared, stream);
    case 3:
      return launch_rows<3>(a, blocks, shared, stream);
    case 4:
      return launch_rows<4>(a, blocks, shared, stream);
    case 5:
      return launch_rows<5>(a, blocks, shared, stream);
    case 6:
      return launch_rows<6>(a, blocks, shared, stream);
    case 7:
      return launch_rows<7>(a, blocks, shared, stream);
    case 8:
      return launch_rows<8>(a, blocks, shared, stream);
    default:
      throw Error("decode_mlp: " + std::to_string(rows) + " rows (1 to 8 are supported)");
  }
}

DecodeMlpDevice decode_mlp_device(int device, bool enabled) {
  int cooperative = 0, sms = 0, shared = 0;
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  CASCADE_CUDA_CHECK(
      cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  int major = 0;
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  // Bulk copies and transaction barriers: compute capability 9.0 or later.
  if (!enabled || cooperative == 0 || major < 9) return {};
  return {sms, static_cast<size_t>(shared)};
}

}  // namespace cascade::cuda

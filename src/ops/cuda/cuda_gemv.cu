// Matrix products of steps with few rows (decode): out[r, n] = x[r, :] · w[n, :] (+ bias[n]).
// cuBLASLt's kernels take 5-8 µs on such shapes whatever their size (one split-K GEMV of
// Qwen2.5-0.5B's down projection adds a reduce kernel), while reading the weight once at
// the copy bandwidth takes 0.5-4 µs: what counts is how many loads every SM keeps in
// flight. A block of 8 warps takes 8 / S columns; each column's k is cut into S slices of
// at most 1,024 elements (S = 1, 2, 4 or 8), one warp a slice, and each lane issues all its
// 16-byte weight loads (up to 4 per weight row) before it uses any. x (a few rows) is read
// through L1 by every warp. fp32 accumulation; the S partial sums of a column are added in
// slice order through shared memory (the same order every run), then the bias and the
// rounding.
//
// A decode step is ~9 such short kernels per layer, and each kernel boundary costs more
// than the work around it, so the GEMV also takes the ops next to it: the RMSNorm of its
// input (every block normalizes the step's few rows into shared memory while its weight
// loads are in flight), the SiLU · up of an MLP, the residual add of its output, and
// qkv_store after the attention's QKV projection (for models without q/k norms: a block's
// columns are then rotate-half pairs of one head, so it rotates k and writes q, k and v to
// their places itself). Each fused form gives the bits of the ops it replaces.
#include <atomic>

#include "base/env_int.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_device_math.cuh"
#include "ops/cuda/cuda_gemv.cuh"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kWarps = kGemvWarps;
constexpr int kThreads = kGemvThreads;
constexpr int kLoadsPerLane = kGemvLoadsPerLane;
constexpr int kSliceElements = kGemvSliceElements;
constexpr int kMaxSlices = kGemvMaxSlices;
// Shared memory for a fused norm's rows ([rows, k] bf16), within the 48 KB a block gets
// without opting in.
constexpr int64_t kMaxNormedBytes = 40 * 1024;

// Weights are read once: keep them out of L1 (x stays there).
__device__ __forceinline__ uint4 load_streaming(const bf16* p) {
  return __ldcs(reinterpret_cast<const uint4*>(p));
}

// Where a GEMV's x comes from: as given, or x = rms_norm(x) · norm_weight, computed by
// every block into shared memory (the rows are few and short; the weights are not).
enum class GemvIn { kRows, kRmsNorm };

// What a GEMV writes: out = x·wᵀ (+ bias) as bf16 or f32; or, for an MLP's fused gate/up
// weight [2n, k], out[r, c] = silu(g) · u with g and u the bf16-rounded outputs c and
// n + c, exactly as the separate linear and silu_mul kernels compute it; or out += x·wᵀ
// (bf16, the product rounded first, as linear then add_inplace compute it); or, for an
// attention's QKV weight, what qkv_store makes of the bf16 output (QkvStoreArgs).
enum class GemvOut { kBf16, kF32, kSiluMul, kAddTo, kQkvStore };

struct GemvArgs {
  const bf16* x;            // [ROWS, k]
  const bf16* w;            // [n, k], [2n, k] for kSiluMul
  const bf16* bias;         // [n] or null (not with kSiluMul)
  const bf16* norm_weight;  // [k], kRmsNorm only
  float eps;                // kRmsNorm only
  void* out;                // [ROWS, n]: f32 for kF32, else bf16; unused by kQkvStore
  int64_t n, k;
  bool early;        // launched with programmatic dependent launch: load the weights first
  QkvStoreArgs qkv;  // kQkvStore only; n = (hq + 2·hkv)·d
};

// kQkvStore: block-local column u of a head's group t / columns holds rotate-half pair
// t / columns · columns / 2 + u / 2, first or second element by u's parity, so that each
// block (`columns` columns, d % columns == 0, columns even) holds whole pairs of one head.
// Maps the block-ordered column `col` to its column of the QKV weight and output.
__device__ __forceinline__ int64_t paired_column(int64_t col, int d, int columns) {
  const int64_t head = col / d;
  const int t = static_cast<int>(col - head * d), u = t % columns;
  const int pair = t / columns * (columns / 2) + u / 2;
  return head * d + pair + (u % 2) * (d / 2);
}

// kQkvStore's epilogue for the block's columns [first, first + COLUMNS) (block order):
// value[c][r] is output column c of row r, rounded to bf16. Thread (c, r) writes q as is, k
// rotated with its partner c ^ 1 at (cos, sin), v as is; k and v only to a valid slot.
template <int ROWS, int COLUMNS>
__device__ __forceinline__ void store_qkv(const QkvStoreArgs& a, int64_t first,
                                          const float (&value)[COLUMNS][ROWS], int c, int r,
                                          int64_t slot, float cos, float sin) {
  const int64_t column = paired_column(first + c, a.d, COLUMNS);
  const int head = static_cast<int>(column / a.d), i = static_cast<int>(column % a.d);
  const float x = value[c][r];
  if (head < a.hq) {
    a.q[(r * int64_t{a.hq} + head) * a.d + i] = __float2bfloat16(x);
    return;
  }
  if (slot < 0 || slot >= a.cache_slots) return;
  if (head >= a.hq + a.hkv) {
    a.v_cache[(slot * a.hkv + head - a.hq - a.hkv) * a.d + i] = __float2bfloat16(x);
    return;
  }
  const float y = value[c ^ 1][r];  // the pair's other element
  const float turned = i < a.d / 2 ? rope_rotate(x, y, cos, sin).x : rope_rotate(y, x, cos, sin).y;
  a.k_cache[(slot * a.hkv + head - a.hq) * a.d + i] = __float2bfloat16(turned);
}

// This lane's weight loads of the slice of row `wrow` starting at `begin`, all issued
// before any is used; zeros past k or for a column past n.
__device__ __forceinline__ void load_slice(const bf16* __restrict__ wrow, int64_t k, int64_t begin,
                                           int lane, bool valid, uint4 (&wv)[kLoadsPerLane]) {
#pragma unroll
  for (int i = 0; i < kLoadsPerLane; ++i) {
    const int64_t c = slice_piece(begin, i, lane);
    wv[i] = valid && c < k ? load_streaming(wrow + c) : make_uint4(0, 0, 0, 0);
  }
}

// acc[r] += x[r, slice] · (the loaded weights) for this lane's part of the slice.
template <int ROWS>
__device__ __forceinline__ void slice_dot(const bf16* x, const uint4 (&wv)[kLoadsPerLane],
                                          int64_t k, int64_t begin, int lane, float (&acc)[ROWS]) {
#pragma unroll
  for (int i = 0; i < kLoadsPerLane; ++i) {
    const int64_t c = slice_piece(begin, i, lane);
    if (c >= k) break;
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      acc[r] += dot8(wv[i], *reinterpret_cast<const uint4*>(x + r * k + c));
    }
  }
}

// sums[r] (lane 0 writes it) = Σ over this warp's slice of x[r, ·] · the loaded weights,
// with the warp's lanes added by warp_sum; +0 for an invalid column.
template <int ROWS>
__device__ __forceinline__ void slice_sums(const bf16* x, const uint4 (&wv)[kLoadsPerLane],
                                           int64_t k, int64_t begin, int lane, bool valid,
                                           float* sums) {
  float acc[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
  if (valid) slice_dot<ROWS>(x, wv, k, begin, lane, acc);
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == 0) sums[r] = v;
  }
}

// Output column `col` of row r from its slices' sums, added in slice order: gate[s · ROWS]
// is slice s's (up likewise, kSiluMul's second half); then the bias, the epilogue of OUT
// and the store. Not kQkvStore.
template <int ROWS, int SLICES, GemvOut OUT>
__device__ __forceinline__ void finish_column(const GemvArgs& a, int64_t col, int r,
                                              const float* gate, const float* up) {
  const int64_t n = a.n;
  float v = 0.0f;
  for (int s = 0; s < SLICES; ++s) v += gate[s * ROWS];
  if constexpr (OUT == GemvOut::kSiluMul) {
    float u = 0.0f;
    for (int s = 0; s < SLICES; ++s) u += up[s * ROWS];
    const float g = __bfloat162float(__float2bfloat16(v));
    u = __bfloat162float(__float2bfloat16(u));
    static_cast<bf16*>(a.out)[r * n + col] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
    return;
  }
  if (a.bias) v += __bfloat162float(a.bias[col]);
  if constexpr (OUT == GemvOut::kF32) {
    static_cast<float*>(a.out)[r * n + col] = v;
  } else if constexpr (OUT == GemvOut::kAddTo) {
    bf16* o = static_cast<bf16*>(a.out) + r * n + col;
    *o = __float2bfloat16(__bfloat162float(*o) + __bfloat162float(__float2bfloat16(v)));
  } else {
    static_cast<bf16*>(a.out)[r * n + col] = __float2bfloat16(v);
  }
}

// Blocks per SM the registers must allow: an MLP's gate/up GEMV of one row (Qwen2.5-0.5B:
// 608 blocks) took 55 registers, 4 blocks per SM, so its last 80 blocks ran as a second
// wave; at 48 registers 5 blocks per SM hold them all.
template <int ROWS, GemvOut OUT>
constexpr int kGemvMinBlocks = OUT == GemvOut::kSiluMul&& ROWS == 1 ? 5 : 1;

// Shapes and dtypes: GemvArgs. k % 8 == 0, k <= SLICES * kSliceElements; x and w 16-byte
// aligned. kRmsNorm needs ROWS · k · 2 bytes of dynamic shared memory.
template <int ROWS, int SLICES, GemvIn IN, GemvOut OUT>
__global__ void __launch_bounds__(kThreads, kGemvMinBlocks<ROWS, OUT>)
    gemv_kernel(const GemvArgs a) {
  constexpr int kColumns = kWarps / SLICES;
  constexpr int kParts = OUT == GemvOut::kSiluMul ? 2 : 1;  // gate and up
  __shared__ float partial[kParts][kWarps][ROWS];
  extern __shared__ uint4 normed_rows[];  // kRmsNorm: [ROWS, k] bf16
  const int64_t n = a.n, k = a.k;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slice = warp % SLICES;
  const int64_t begin = slice * int64_t{kSliceElements};
  constexpr bool kQkv = OUT == GemvOut::kQkvStore;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kColumns;
  const int64_t col = first + warp / SLICES;
  // The weight row (and output column) this warp computes.
  const int64_t wcol = kQkv ? paired_column(col, a.qkv.d, kColumns) : col;
  uint4 wv[kParts][kLoadsPerLane];
  const auto load_weights = [&] {
#pragma unroll
    for (int part = 0; part < kParts; ++part) {
      load_slice(a.w + (part * n + wcol) * k, k, begin, lane, col < n, wv[part]);
    }
  };
  // kQkvStore: thread (c, r) = (tid % kColumns, tid / kColumns) stores column c of row r;
  // its slot and rotation (from the step's inputs, which the host writes) are read while
  // the weights are in flight.
  const int store_c = threadIdx.x % kColumns, store_r = threadIdx.x / kColumns;
  const bool stores = kQkv && store_r < ROWS;
  int64_t slot = -1;
  float cos = 1.0f, sin = 0.0f;
  const auto read_slot_and_rotation = [&] {
    if (!stores) return;
    slot = a.qkv.slots[store_r];
    const int64_t column = paired_column(first + store_c, a.qkv.d, kColumns);
    const int64_t head = column / a.qkv.d;  // the same for the whole block
    if (head >= a.qkv.hq && head < a.qkv.hq + a.qkv.hkv) {
      rope_cos_sin(a.qkv.positions[store_r], a.qkv.inv_freq[column % (a.qkv.d / 2)], &cos, &sin);
    }
  };
  // With programmatic dependent launch the weights (which no kernel writes) and the
  // step's inputs are read while the kernels before this one finish, and the next kernel
  // may then launch and do the same; x, the norm and the outputs wait for the kernels
  // before.
  if (a.early) {
    load_weights();
    release_dependents();
    read_slot_and_rotation();
    wait_prior_grids();
  } else {
    wait_prior_grids();
    load_weights();
    read_slot_and_rotation();
  }
  const bf16* x = a.x;
  if constexpr (IN == GemvIn::kRmsNorm) {  // under the weight loads' latency
    bf16* normed = reinterpret_cast<bf16*>(normed_rows);
    normalize_rows<ROWS>(a.x, a.norm_weight, a.eps, k, normed);
    x = normed;
  }
#pragma unroll
  for (int part = 0; part < kParts; ++part) {
    slice_sums<ROWS>(x, wv[part], k, begin, lane, col < n, partial[part][warp]);
  }
  __syncthreads();
  if constexpr (kQkv) {  // n % kColumns == 0: every column of the block is valid
    __shared__ float value[kColumns][ROWS];
    if (slice == 0 && lane < ROWS) {
      float v = 0.0f;
      for (int s = 0; s < SLICES; ++s) v += partial[0][warp + s][lane];
      if (a.bias) v += __bfloat162float(a.bias[wcol]);
      value[warp / SLICES][lane] = __bfloat162float(__float2bfloat16(v));
    }
    __syncthreads();
    if (!stores) return;
    store_qkv<ROWS, kColumns>(a.qkv, first, value, store_c, store_r, slot, cos, sin);
    return;
  }
  // Lane r of a column's first warp finishes row r.
  if (slice != 0 || lane >= ROWS || col >= n) return;
  finish_column<ROWS, SLICES, OUT>(a, col, lane, &partial[0][warp][lane],
                                   &partial[kParts - 1][warp][lane]);
}

template <int ROWS, int SLICES, GemvIn IN, GemvOut OUT>
void launch_sliced(const GemvArgs& a, cudaStream_t stream) {
  constexpr int kColumns = kWarps / SLICES;
  const auto blocks = static_cast<unsigned>((a.n + kColumns - 1) / kColumns);
  const size_t shared = IN == GemvIn::kRmsNorm ? size_t{ROWS} * a.k * sizeof(bf16) : 0;
  launch("gemv_kernel", gemv_kernel<ROWS, SLICES, IN, OUT>, blocks, kThreads, shared, stream, a);
  CASCADE_CUDA_CHECK_LAUNCH("gemv_kernel");
}

template <int ROWS, GemvIn IN, GemvOut OUT>
void launch_rows(const GemvArgs& a, cudaStream_t stream) {
  const int slices = gemv_slices(a.k);
  if (slices == 1) return launch_sliced<ROWS, 1, IN, OUT>(a, stream);
  if (slices == 2) return launch_sliced<ROWS, 2, IN, OUT>(a, stream);
  if (slices == 4) return launch_sliced<ROWS, 4, IN, OUT>(a, stream);
  if constexpr (OUT == GemvOut::kQkvStore) {  // one column per block: no whole pairs
    throw Error("gemv: qkv_store needs k <= " + std::to_string(4 * kSliceElements));
  } else {
    launch_sliced<ROWS, kMaxSlices, IN, OUT>(a, stream);
  }
}

template <GemvIn IN, GemvOut OUT>
void dispatch(GemvArgs a, int64_t rows, cudaStream_t stream) {
  a.early = programmatic_launch_enabled();
  switch (rows) {
    case 1:
      return launch_rows<1, IN, OUT>(a, stream);
    case 2:
      return launch_rows<2, IN, OUT>(a, stream);
    case 3:
      return launch_rows<3, IN, OUT>(a, stream);
    case 4:
      return launch_rows<4, IN, OUT>(a, stream);
    case 5:
      return launch_rows<5, IN, OUT>(a, stream);
    case 6:
      return launch_rows<6, IN, OUT>(a, stream);
    case 7:
      return launch_rows<7, IN, OUT>(a, stream);
    case 8:
      return launch_rows<8, IN, OUT>(a, stream);
    default:
      throw Error("gemv: " + std::to_string(rows) + " rows (1 to 8 are supported)");
  }
}

bool aligned_16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

namespace {

std::atomic<int> max_rows = kDefaultGemvMaxRows;  // CASCADE_GEMV_MAX_ROWS

}  // namespace

void prepare_gemv_rows() {
  set_gemv_max_rows(env_int("CASCADE_GEMV_MAX_ROWS", kDefaultGemvMaxRows, 1, kGemvMaxRows));
}

void set_gemv_max_rows(int rows) {
  max_rows = rows;
}

int gemv_max_rows() {
  return max_rows.load(std::memory_order_relaxed);
}

bool gemv_fits(int64_t rows, int64_t k, const void* x, const void* w) {
  return rows >= 1 && rows <= gemv_max_rows() && k % 8 == 0 && k <= kMaxSlices * kSliceElements &&
         aligned_16(x) && aligned_16(w);
}

bool gemv_norm_fits(int64_t rows, int64_t k, const void* x, const void* w) {
  return gemv_fits(rows, k, x, w) && rows * k * int64_t{sizeof(bf16)} <= kMaxNormedBytes;
}

bool gemv_qkv_store_fits(int64_t rows, int64_t k, int d, const void* x, const void* w) {
  const int slices = gemv_slices(k);
  if (slices > 4) return false;
  const int columns = kWarps / slices;
  return gemv_norm_fits(rows, k, x, w) && d > 0 && d % columns == 0;
}

void gemv(const bf16* x, const bf16* w, const bf16* bias, void* out, bool out_f32, int64_t rows,
          int64_t n, int64_t k, cudaStream_t stream) {
  const GemvArgs a{x, w, bias, nullptr, 0.0f, out, n, k, false, {}};
  if (out_f32) return dispatch<GemvIn::kRows, GemvOut::kF32>(a, rows, stream);
  dispatch<GemvIn::kRows, GemvOut::kBf16>(a, rows, stream);
}

void gemv_add(const bf16* x, const bf16* w, bf16* acc, int64_t rows, int64_t n, int64_t k,
              cudaStream_t stream) {
  dispatch<GemvIn::kRows, GemvOut::kAddTo>({x, w, nullptr, nullptr, 0.0f, acc, n, k, false, {}},
                                           rows, stream);
}

void gemv_silu_mul(const bf16* x, const bf16* w_gate_up, bf16* out, int64_t rows, int64_t n,
                   int64_t k, cudaStream_t stream) {
  dispatch<GemvIn::kRows, GemvOut::kSiluMul>(
      {x, w_gate_up, nullptr, nullptr, 0.0f, out, n, k, false, {}}, rows, stream);
}

void rms_norm_gemv(const bf16* x, const bf16* norm_weight, float eps, const bf16* w,
                   const bf16* bias, bf16* out, int64_t rows, int64_t n, int64_t k,
                   cudaStream_t stream) {
  dispatch<GemvIn::kRmsNorm, GemvOut::kBf16>({x, w, bias, norm_weight, eps, out, n, k, false, {}},
                                             rows, stream);
}

void rms_norm_gemv_qkv_store(const bf16* x, const bf16* norm_weight, float eps, const bf16* w,
                             const bf16* bias, int64_t rows, int64_t k, const QkvStoreArgs& qkv,
                             cudaStream_t stream) {
  const int64_t n = int64_t{qkv.hq + 2 * qkv.hkv} * qkv.d;
  dispatch<GemvIn::kRmsNorm, GemvOut::kQkvStore>(
      {x, w, bias, norm_weight, eps, nullptr, n, k, false, qkv}, rows, stream);
}

void rms_norm_gemv_silu_mul(const bf16* x, const bf16* norm_weight, float eps,
                            const bf16* w_gate_up, bf16* out, int64_t rows, int64_t n, int64_t k,
                            cudaStream_t stream) {
  dispatch<GemvIn::kRmsNorm, GemvOut::kSiluMul>(
      {x, w_gate_up, nullptr, norm_weight, eps, out, n, k, false, {}}, rows, stream);
}

}  // namespace cascade::cuda

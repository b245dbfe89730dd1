// Host-side launchers of the CUDA backend's kernels. Each enqueues on `stream` and checks
// the launch; arguments are device pointers with the shapes and dtypes stated. bf16 is
// __nv_bfloat16; every kernel accumulates in fp32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "ops/cuda/cuda_attention_work.h"

namespace cascade::cuda {

using bf16 = __nv_bfloat16;

// out[r] = table[ids[r]]. ids: [rows] i32; table: [vocab, hidden]; out: [rows, hidden].
// An id outside [0, vocab) yields a row of NaN (the caller validated ids on the host).
void embedding(const int32_t* ids, const bf16* table, int64_t rows, int64_t vocab, int64_t hidden,
               bf16* out, cudaStream_t stream);

// out = x / sqrt(mean(x²) + eps) · weight per row. x, out: [rows, dim]; weight: [dim].
void rms_norm(const bf16* x, const bf16* weight, int64_t rows, int64_t dim, float eps, bf16* out,
              cudaStream_t stream);

// residual += x, then out = rms_norm(residual) (the sum rounded to bf16 first, as the two
// ops give). residual, x, out: [rows, dim]; weight: [dim]. out must not alias residual.
void add_rms_norm(bf16* residual, const bf16* x, const bf16* weight, int64_t rows, int64_t dim,
                  float eps, bf16* out, cudaStream_t stream);

// acc[i] += x[i] for i < n.
void add_inplace(bf16* acc, const bf16* x, int64_t n, cudaStream_t stream);

// out = silu(gate) · up. gate_up: [rows, 2n] (gate | up); out: [rows, n].
void silu_mul(const bf16* gate_up, int64_t rows, int64_t n, bf16* out, cudaStream_t stream);
// silu_mul by 8 columns a thread with 16-byte loads where n % 8 == 0 and the pointers are
// 16-byte aligned, the same bits (on by default: B1 +0.9 %, H200 2026-12-03;
// CASCADE_SILU_MUL_BY_8=0 or set_silu_mul_by_8(false): a column a thread). prepare_silu_mul
// reads the variable at backend creation.
void prepare_silu_mul();
void set_silu_mul_by_8(bool on);
bool silu_mul_by_8_enabled();

// out[r, c] = x[r, :] · w[c, :] (+ bias[c]) for steps of at most kGemvMaxRows rows
// (cuda_gemv.cu). x: [rows, k] bf16; w: [n, k] bf16; bias: [n] bf16 or null; out:
// [rows, n] f32 when out_f32, else bf16. gemv_fits says whether rows, k and the pointers
// suit it (k % 8 == 0, k <= 8,192, 16-byte aligned x and w).
inline constexpr int kGemvMaxRows = 8;
// Steps of more rows than gemv_max_rows() take cuBLASLt: CASCADE_GEMV_MAX_ROWS (1 to
// kGemvMaxRows, default kDefaultGemvMaxRows), read by prepare_gemv_rows at backend creation.
// The GEMV is faster at 1 and 2 rows, cuBLASLt from 4 (B2 decode tok/s, cascade on / off,
// GEMV against cuBLASLt: batch 2 1,054 / 1,046 against 954 / 890; batch 4 1,755 / 1,454
// against 1,889 / 1,450; batch 8 2,471 / 1,678 against 3,990 / 2,129; H200 2026-12-03);
// 3 rows was not measured.
inline constexpr int kDefaultGemvMaxRows = 2;
void prepare_gemv_rows();
void set_gemv_max_rows(int rows);
int gemv_max_rows();

// Whether a step of `rows` rows launches its kernels with PDL (when it is on): only steps
// that take the GEMVs, which load their weights before they wait and so overlap the kernel
// ahead (B6 1,159 -> 1,387 tok/s, H200 2026-12-01). In larger steps PDL measured within the
// noise (B2, B3: -5 to +7 % over three calls) or slower with the attention kernels included
// (B2 batch 16/64/128 -10/-18/-15 %); docs/BENCHMARKS.md.
inline bool step_takes_programmatic_launch(int64_t rows) {
  return rows <= gemv_max_rows();
}
bool gemv_fits(int64_t rows, int64_t k, const void* x, const void* w);
void gemv(const bf16* x, const bf16* w, const bf16* bias, void* out, bool out_f32, int64_t rows,
          int64_t n, int64_t k, cudaStream_t stream);
// out[r, c] = x[r, :] · w[c, :] (+ bias[c]) for steps of kGemvMaxRows + 1 to
// kSkinnyGemmMaxRows rows on Hopper's tensor cores (cuda_skinny_gemm.cu; experimental,
// measured slower than cuBLASLt), k split over a thread block cluster where n alone does
// not cover the GPU. x: [rows, k] bf16; w: [n, k] bf16; bias: [n] bf16 or null; out:
// [rows, n] bf16. skinny_gemm_fits: on (CASCADE_SKINNY_GEMM, set_skinny_gemm), an sm_90a
// build on an H100/H200, n % 64 == 0, k % 64 == 0, x, w and out 16-byte aligned.
// Which kernel such steps take: cuBLASLt (kOff, the default), the skinny GEMM with every
// thread's cp.async (kCopies) or with the copy engine fetching x and w (kCopyEngine).
enum class SkinnyGemmMode : int { kOff = 0, kCopies = 1, kCopyEngine = 2 };
inline constexpr int kSkinnyGemmMaxRows = 256;
struct SkinnyGemmShape {
  int warpgroups = 1;     // a block's rows: 64 per warpgroup
  int m_tiles = 1;        // blocks along the rows
  int tile_columns = 64;  // a block's output columns: 64 or 128
  int cluster = 1;        // blocks splitting k, summed through distributed shared memory
};
// The tiling skinny_gemm launches on a GPU of `sms` multiprocessors.
SkinnyGemmShape skinny_gemm_shape(int64_t rows, int64_t n, int64_t k, int sms);
bool skinny_gemm_fits(int64_t rows, int64_t n, int64_t k, const void* x, const void* w,
                      const void* out);
void skinny_gemm(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows, int64_t n,
                 int64_t k, int sms, cudaStream_t stream);
// Reads CASCADE_SKINNY_GEMM (a SkinnyGemmMode: 0, 1 or 2; default 0) and readies the
// kernels; at backend creation.
void prepare_skinny_gemm();
// skinny_gemm with the tiling given (benchmarks); an Error where it does not fit the shape.
void skinny_gemm_shaped(const bf16* x, const bf16* w, const bf16* bias, bf16* out, int64_t rows,
                        int64_t n, int64_t k, const SkinnyGemmShape& shape, cudaStream_t stream);
void set_skinny_gemm(SkinnyGemmMode mode);
SkinnyGemmMode skinny_gemm_mode();
// acc[r, c] += x[r, :] · w[c, :], the product rounded to bf16 first (gemv then
// add_inplace). x: [rows, k]; w: [n, k]; acc: [rows, n] bf16; gemv_fits(rows, k, x, w).
void gemv_add(const bf16* x, const bf16* w, bf16* acc, int64_t rows, int64_t n, int64_t k,
              cudaStream_t stream);
// gemv of rms_norm(x) · norm_weight (norm_weight: [k] bf16), which every block computes
// itself: the bits of rms_norm then gemv, one kernel. out: [rows, n] bf16;
// gemv_norm_fits(rows, k, x, w): gemv_fits and rows · k · 2 bytes <= 40 KB.
bool gemv_norm_fits(int64_t rows, int64_t k, const void* x, const void* w);
void rms_norm_gemv(const bf16* x, const bf16* norm_weight, float eps, const bf16* w,
                   const bf16* bias, bf16* out, int64_t rows, int64_t n, int64_t k,
                   cudaStream_t stream);
// Where qkv_store puts a QKV projection's output: q: [rows, hq, d] bf16; k_cache,
// v_cache: [cache_slots, hkv, d] bf16 at slots: [rows] i32 (k rotated at positions: [rows]
// i32 with inv_freq: [d / 2] f32). A slot outside [0, cache_slots) writes nothing.
struct QkvStoreArgs {
  const int32_t* positions;
  const int32_t* slots;
  const float* inv_freq;
  int hq, hkv, d;
  int64_t cache_slots;
  bf16* q;
  bf16* k_cache;
  bf16* v_cache;
};
// rms_norm_gemv's projection with qkv_store (no q/k norms) as its epilogue, one kernel:
// the bits of rms_norm_gemv then qkv_store, without the [rows, (hq + 2·hkv)·d] output.
// w: [(hq + 2·hkv)·d, k]; bias: [(hq + 2·hkv)·d] or null; gemv_qkv_store_fits(rows, k, d,
// x, w).
bool gemv_qkv_store_fits(int64_t rows, int64_t k, int d, const void* x, const void* w);
void rms_norm_gemv_qkv_store(const bf16* x, const bf16* norm_weight, float eps, const bf16* w,
                             const bf16* bias, int64_t rows, int64_t k, const QkvStoreArgs& qkv,
                             cudaStream_t stream);
// gemv_silu_mul of rms_norm(x) · norm_weight, one kernel; gemv_norm_fits(rows, k, x, w).
void rms_norm_gemv_silu_mul(const bf16* x, const bf16* norm_weight, float eps,
                            const bf16* w_gate_up, bf16* out, int64_t rows, int64_t n, int64_t k,
                            cudaStream_t stream);
// out[r, c] = silu(g) · u with g, u = (x · w_gate_upᵀ)[r, c] and [r, n + c] rounded to
// bf16, as gemv then silu_mul compute it. x: [rows, k]; w_gate_up: [2n, k]; out: [rows, n]
// bf16; gemv_fits(rows, k, x, w_gate_up).
void gemv_silu_mul(const bf16* x, const bf16* w_gate_up, bf16* out, int64_t rows, int64_t n,
                   int64_t k, cudaStream_t stream);

// A decoder layer's MLP for steps of at most kGemvMaxRows rows as one kernel
// (cuda_decode_mlp.cu): act = silu_mul(rms_norm(residual) · w_gate_upᵀ), then residual +=
// act · w_downᵀ, with the bits of rms_norm_gemv_silu_mul then gemv_add. residual: [rows,
// dim] bf16; norm_weight: [dim]; w_gate_up: [2n, dim]; w_down: [dim, n]; act: [rows, n]
// bf16. The launch limits of a device: `blocks` (its SMs, one persistent block each) and
// a block's opt-in shared memory; blocks 0 where the kernel is off (not `enabled`, or a GPU
// without cooperative launch or bulk copies).
struct DecodeMlpDevice {
  int blocks = 0;
  size_t shared_bytes = 0;
  bool bulk_copies = false;  // weights by the copy engine, not 16-byte copies by every thread
};
// mode: 0 off, 1 16-byte copies by every thread, 2 bulk copies.
DecodeMlpDevice decode_mlp_device(int device, int mode);
// Whether the shapes fit a block's shared memory (each block holds its weights of both
// projections) and every pointer is 16-byte aligned.
bool decode_mlp_fits(const DecodeMlpDevice& device, int64_t rows, int64_t dim, int64_t n,
                     std::initializer_list<const void*> pointers);
void decode_mlp(const DecodeMlpDevice& device, bf16* residual, const bf16* norm_weight, float eps,
                const bf16* w_gate_up, const bf16* w_down, bf16* act, int64_t rows, int64_t dim,
                int64_t n, cudaStream_t stream);

// out[r, i] += bias[i]. out: [rows, n] f32; bias: [n] bf16.
void add_bias_f32(float* out, const bf16* bias, int64_t rows, int64_t n, cudaStream_t stream);

// table: [positions, half] (cos, sin) = rope_cos_sin(p, inv_freq[i]) for p < positions, i <
// half; inv_freq: [half] f32. The same device arithmetic as the kernels that compute it.
void fill_rope_table(float2* table, const float* inv_freq, int64_t positions, int half,
                     cudaStream_t stream);

// Splits qkv: [rows, (hq + 2·hkv)·d] into q: [rows, hq, d] (RMS-normed by q_norm: [d] when
// given, un-rotated) and writes k (RMS-normed by k_norm, rotated at positions[r]) and v into
// k_cache, v_cache: [cache_slots, hkv, d] at slots[r]. inv_freq: [d / 2] f32.
// positions, slots: [rows] i32. A slot outside [0, cache_slots) writes nothing.
// By default 8 elements a lane with 16-byte loads and stores where d is 16, 32, 64, 128 or
// 256 and the pointers are 16-byte aligned; otherwise, or with CASCADE_QKV_STORE_BY_8=0
// (set_qkv_store_by_8(false)), a warp per (row, head). prepare_qkv_store reads the variable
// at backend creation.
void prepare_qkv_store();
void set_qkv_store_by_8(bool on);
bool qkv_store_by_8_enabled();
void qkv_store(const bf16* qkv, const bf16* q_norm, const bf16* k_norm, float eps,
               const int32_t* positions, const int32_t* slots, const float* inv_freq, int64_t rows,
               int hq, int hkv, int d, int64_t cache_slots, bf16* q, bf16* k_cache, bf16* v_cache,
               cudaStream_t stream);

// Greedy, temperature, top-k and top-p sampling with the host sampler's definition
// (cuda_sampling.cu). logits: [rows, stride] f32, columns [0, vocab) sampled (the rest
// count as -inf); temperature: [rows] f32 (<= 0: greedy); uniform: [rows] f64 in [0, 1),
// the row's draw; top_k: [rows] i32, top-k where 0 < k < stride; top_p: [rows] f32, a
// nucleus (within the top-k) where < 1; out: [rows] i32 token ids, -1 for a row with a
// NaN or +inf logit or only -inf. stride <= kMaxSampledVocab.
inline constexpr int64_t kMaxSampledVocab = int64_t{1} << 23;  // the host sampler's limit
// scratch: sample_rows_scratch_bytes(rows, vocab) bytes of device memory (none for many
// rows), where a step of few rows scans its logits with many blocks per row first.
int64_t sample_rows_scratch_bytes(int64_t rows, int64_t vocab);
// Which steps scan their logits with many blocks per row first: those of at most max_rows
// rows (CASCADE_SAMPLE_SPLIT_ROWS, default 256); draw (CASCADE_SAMPLE_SPLIT_DRAW, default
// 1): those steps also sum each slice's masses with many blocks, and rows of plain
// temperature sampling walk only the slice holding their draw (B1, 256 rows at temperature
// 0.6: +1.4 % with both, H200 2026-12-03). The same tokens. prepare_split_sampling reads
// the variables at backend creation.
struct SplitSampling {
  int64_t max_rows = 256;
  bool draw = true;
};
void prepare_split_sampling();
void set_split_sampling(SplitSampling split);
SplitSampling split_sampling();
// any_temperature: whether some row has temperature > 0 (the host knows; without one the
// split draw's mass kernel is not launched).
void sample_rows(const float* logits, int64_t rows, int64_t stride, int64_t vocab,
                 const float* temperature, const double* uniform, const int32_t* top_k,
                 const float* top_p, bool any_temperature, void* scratch, int32_t* out,
                 cudaStream_t stream);

// ids: [n] i32 in place; each id < 0 becomes sampled[-id - 1], or 0 where that is -1 (a
// row the sampler could not draw: the host names the fault). sampled: [rows of the last
// sample_rows call] i32, every -id - 1 below it.
void substitute_sampled_ids(int32_t* ids, int64_t n, const int32_t* sampled, cudaStream_t stream);

// The tensors of one attention call and, read by the kernels themselves, the step's work:
// an AttentionWork's packed array (header first, cuda_attention_work.h) in device memory.
struct AttentionArgs {
  const bf16* q;             // [rows, hq, d], un-rotated
  const int32_t* positions;  // [rows]
  const bf16* k_cache;       // [pages, page_size, hkv, d], rotated at canonical positions
  const bf16* v_cache;       // [pages, page_size, hkv, d]
  const float* inv_freq;     // [d / 2]
  // [rope_table_positions, d / 2] (cos, sin) = rope_cos_sin(position, inv_freq[i]): the
  // queries' rotations looked up rather than computed (double-precision sincos)
  const float2* rope_table;
  int rope_table_positions;
  const int32_t* work;  // AttentionWork::packed
  float* part_o;        // [parts, hq, d] f32
  float* part_lse;      // [parts, hq] f32, base 2
  bf16* out;            // [rows, hq, d]
  int rows, hq, hkv, d, page_size;
  int cache_tokens;      // pages · page_size: the caches' extent for tensor maps
  float score_scale;     // log2(e) / sqrt(d)
  AttentionMerge merge;  // AttentionWork::merge
  int32_t* merge_count;  // kLastPart: [rows, hq] i32, zeros before and after each launch
  bool heads_inner;      // AttentionWorkShape::heads_inner: the CUDA-core task kernel's grid
  int key_lanes;         // AttentionWorkShape::key_lanes: lanes reading one key row (1 or 8)
};

// Thread blocks (per kv head) of the two task kernels; a block runs items i, i + grid, ...
// of its kind, so any grid covers the work (0: not launched). A recorded step launches a
// fixed grid; eager calls the item counts.
struct AttentionGrid {
  int small_blocks = 0;
  int large_blocks = 0;
  int small_tile_rows = 4;  // AttentionWorkShape::small_tile_rows: 4 or 8
  bool wide = false;        // AttentionWork::wide: small tiles on kWideWarps-warp blocks
  int cluster_blocks = 0;   // AttentionWork::cluster_blocks: small tiles' cluster size (kCluster)
  int large_tile_rows = 0;  // AttentionWork::large_tile_rows: 128 for the warp-specialized kernel
};

// Whether attention kernels exist for head size d, and the flat rows of its large tiles
// (AttentionWorkShape::large_tile_rows).
bool attention_supports_head_dim(int d);
// Once per process and device, before the first attention: the wide blocks' shared memory,
// and CASCADE_ATTENTION_MERGE_LOADS (0, 8 or 16, default 0; an Error naming it otherwise):
// the parts' values the merge kernel loads at a time (either gives the same bits), 0 for
// merge_loads_for the step.
void prepare_attention_task_kernels();
void set_attention_merge_loads(int loads);
inline constexpr int kMergeLoadsBySize = 0;
// The merge kernel's loads at a time for `units` (rows × query heads, a warp each): 16 in
// steps of at most 4,096, whose few warps (~31 per SM on an H200 at most) each wait on L2
// round trips (B4's cached step, 64 rows × 16 heads: time to first token 2.46 -> 2.40 ms);
// 8 in larger steps, where 16's registers cost more occupancy than the round trips they
// save (B4's cold prefill, 16,448 rows: 106.5 -> 109 ms). H200, 2026-12-03.
constexpr int merge_loads_for(int64_t units) {
  return units <= 4096 ? 16 : 8;
}
int attention_large_tile_rows(int d, int64_t rows);  // rows: the step's query rows

// Where attention's kernels run: the work is ordered on `main`. When a step has items of
// both kinds, the large-tile kernel runs on `side`, forked from and joined back to `main`
// by the two events (recorded into a graph as a fork and a join), so the small-tile
// kernel fills the SMs the large-tile grid leaves idle instead of waiting behind it.
struct AttentionStreams {
  cudaStream_t main = nullptr;
  cudaStream_t side = nullptr;
  cudaEvent_t fork = nullptr;  // without timing
  cudaEvent_t join = nullptr;
};

// The task kernels (partial o, lse per part and head) then the merge into out.
void attention(const AttentionArgs& args, const AttentionGrid& grid,
               const AttentionStreams& streams);

// A measuring tool (cuda_chain_probe.cu, CudaTiming.DependentKernelChain): `links`
// dependent kernels normalizing the rows of a: [rows, dim] into b, then b into a, and so on
// (bf16), each waiting for the one before in one of these ways (with PDL when it is on):
enum class ChainHandOff : int {
  kAtExit,        // griddepcontrol.wait; the next kernel may launch as this one's blocks exit
  kEarlyRelease,  // griddepcontrol.wait; the next kernel may launch as soon as this one starts
  kFlags,         // as kEarlyRelease, but a count of finished blocks in memory instead of the wait
};
// state: [links + 1] u32, zeros before the first call, kept between calls (a recorded chain
// replays with it).
void chain_probe(ChainHandOff hand_off, bf16* a, bf16* b, int64_t rows, int64_t dim, int links,
                 uint32_t* state, cudaStream_t stream);

}  // namespace cascade::cuda

// Token sampling on the device with the host sampler's definition (src/engine/sampler.cpp),
// so that a row gives the host's token:
// - greedy: argmax with ties to the lowest id;
// - otherwise integer masses m_i = expf((logit_i - max) / temperature) · 2^40, truncated, so
//   every sum is exact in any order; top-k keeps the k best tokens (logit descending, id
//   ascending), top-p the shortest best-first prefix of those whose mass reaches top_p of
//   theirs; the inverse CDF walks the kept tokens in id order to the first whose running
//   mass exceeds u · total.
// Each cut is a radix select over the logits' order-preserving bits, 8 bits a pass (by count
// for top-k, by mass for top-p), then an ordered scan for ties at the cut (lowest ids first).
// Nothing is sorted, so k and the nucleus have no size limit. Only expf may differ from the
// host's by an ulp.
//
// A row's block first needs the row's best logit. Where the rows are fewer than the SMs
// (decode of a few sequences), a scan kernel of many blocks per row finds it first: one
// block reading Qwen's 151,936 logits took ~31 µs, a chain of dependent reads. The same
// for steps of up to 256 rows (SplitSampling), with a second kernel of many blocks per row
// summing each slice's masses, so that a row of plain temperature sampling is drawn by
// walking one slice instead of reading the whole row again (B1's 256 rows took ~215 µs a
// step in one block per row; B1 +1.4 % with both, H200 2026-12-03). Masses are integers:
// the same sums, the same target, the same token.
#include <algorithm>
#include <atomic>
#include <climits>

#include "base/env_int.h"

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

using u64 = unsigned long long;

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr int kRadixBins = 256;
// draw's segments: kSegmentRounds runs of 32 ids each, more where a row has more than
// kMaxSegments of those (Qwen's 151,936 ids: 594 segments of 256).
constexpr int kSegmentRounds = 8;
constexpr int kMaxSegments = 1024;

struct Best {
  float value;
  int id;
};

// Each thread of a scan has kScanBatch loads in flight at a time (one at a time, a greedy
// row of Qwen's 151,936 logits is a chain of ~300 dependent L2 reads per thread).
constexpr int kScanBatch = 8;
constexpr int kScanBlockLogits = kThreads * kScanBatch;  // one round of a scan block
// The default row limit of the split scan: SplitSampling's, one place.
constexpr int kSplitScanMaxRows = static_cast<int>(SplitSampling{}.max_rows);

// A scan block's result for its slice of a row: the best, and whether a logit was NaN or
// +inf.
struct SliceBest {
  Best best;
  int bad;
};

// Ranks ahead: higher logit, then lower id.
__device__ __forceinline__ Best better(Best a, Best b) {
  return (b.value > a.value || (b.value == a.value && b.id < a.id)) ? b : a;
}

// Larger logit, larger key; -0 and +0 (equal logits) share a key. -inf is the lowest key
// of the non-NaN values.
__device__ __forceinline__ unsigned order_key(float f) {
  const unsigned u = __float_as_uint(f == 0.0f ? 0.0f : f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ float logit_of_key(unsigned key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

// One row: ids [0, width) of which [vocab, width) count as -inf (the engine masks the ids
// past the tokenizer for the host).
struct Row {
  const float* logits;
  int vocab, width;
  float max_logit, temperature;

  __device__ float logit(int i) const { return i < vocab ? logits[i] : -INFINITY; }
  // The host's mass_of(weight): weight · 2^40 truncated.
  __device__ u64 mass(float logit) const {
    return static_cast<u64>(expf((logit - max_logit) / temperature) * 0x1p40f);
  }
};

// The tokens a cut keeps: those ranked ahead of its boundary token, and the boundary.
struct Cut {
  unsigned key;  // the boundary's order key
  int last_id;   // the boundary's id (ties at `key` with ids above it are dropped)
  __device__ bool keeps(unsigned k, int i) const { return k > key || (k == key && i <= last_id); }
};
constexpr Cut kKeepAll{0u, INT_MAX};

struct Shared {
  u64 bins[kRadixBins];
  u64 warp_total[kWarps];
  Best warp_best[kWarps];
  Best row_best;
  unsigned prefix;  // the radix select's digits so far
  u64 remaining;    // count or mass still to take at the current prefix
  int last_id;
  int token;
  u64 segment_mass[kMaxSegments];  // draw: each segment's kept mass
  int segment;                     // draw: the segment holding the target
  u64 segment_before;              // draw: the mass of the segments before it
};

// The best over the block, to every thread and to s.row_best.
__device__ Best block_best(Best best, Shared& s) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset),
                     __shfl_xor_sync(0xffffffffu, best.id, offset)};
    best = better(best, other);
  }
  if (threadIdx.x % 32 == 0) s.warp_best[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    Best b = s.warp_best[0];
    for (int w = 1; w < kWarps; ++w) b = better(b, s.warp_best[w]);
    s.row_best = b;
  }
  __syncthreads();
  return s.row_best;
}

// Sum over the block (every thread gets it; exact, so the order does not matter).
__device__ u64 block_sum(u64 v, Shared& s) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) s.warp_total[threadIdx.x / 32] = v;
  __syncthreads();
  u64 total = 0;
  for (int w = 0; w < kWarps; ++w) total += s.warp_total[w];
  __syncthreads();  // warp_total is reused
  return total;
}

// Block-wide: the cut that keeps, of the tokens `within` keeps, the shortest best-first
// prefix whose count (by_mass false) or mass (true) reaches quota, which must be in
// [1, the count or mass `within` keeps].
__device__ Cut select_cut(const Row& r, Cut within, bool by_mass, u64 quota, Shared& s) {
  if (threadIdx.x == 0) {
    s.prefix = 0;
    s.remaining = quota;
  }
  unsigned mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < kRadixBins; b += kThreads) s.bins[b] = 0;
    __syncthreads();
    const unsigned prefix = s.prefix;
    for (int i = threadIdx.x; i < r.width; i += kThreads) {
      const float v = r.logit(i);
      const unsigned key = order_key(v);
      if ((key & mask) == prefix && within.keeps(key, i)) {
        atomicAdd(&s.bins[(key >> shift) & 0xffu], by_mass ? r.mass(v) : u64{1});
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      u64 remaining = s.remaining;
      for (int b = kRadixBins - 1; b >= 0; --b) {
        if (s.bins[b] >= remaining) {
          s.prefix = prefix | (static_cast<unsigned>(b) << shift);
          break;
        }
        remaining -= s.bins[b];
      }
      s.remaining = remaining;
    }
    mask |= 0xffu << shift;
    __syncthreads();
  }
  const unsigned key = s.prefix;
  // Ties at the boundary have one logit, so one mass each (> 0: their bin reached the quota).
  const u64 unit = by_mass ? r.mass(logit_of_key(key)) : 1;
  const u64 take = (s.remaining + unit - 1) / unit;
  // The take-th tie in id order, kThreads tokens at a time.
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  u64 taken = 0;
  for (int chunk = 0; chunk < r.width && taken < take; chunk += kThreads) {
    const int i = chunk + static_cast<int>(threadIdx.x);
    const bool tie = i < r.width && order_key(r.logit(i)) == key && within.keeps(key, i);
    const unsigned ballot = __ballot_sync(0xffffffffu, tie);
    if (lane == 0) s.bins[warp] = __popc(ballot);
    __syncthreads();
    u64 before = taken + __popc(ballot & ((1u << lane) - 1u));
    u64 chunk_ties = 0;
    for (int w = 0; w < kWarps; ++w) {
      if (w < warp) before += s.bins[w];
      chunk_ties += s.bins[w];
    }
    if (tie && before + 1 == take) s.last_id = i;
    taken += chunk_ties;
    __syncthreads();  // bins are rewritten by the next chunk
  }
  __syncthreads();
  return Cut{key, s.last_id};
}

// The draw's target mass: u of the total, below the total.
__device__ __forceinline__ u64 target_of(double u, u64 total) {
  return min(static_cast<u64>(u * static_cast<double>(total)), total - 1);
}

// Block-wide inverse CDF over ids [begin, end) of the tokens `keep` keeps, in id order, the
// running mass starting at `before` (the kept mass of the ids before `begin`): the first id
// at which it exceeds target_of(u, total), with total the row's kept mass (0: the range's
// own, which must then be the whole row, before 0); that id must lie in the range. The
// range is cut into segments of `rounds` runs of 32 consecutive ids: a warp sums a
// segment's masses reading 32 consecutive ids at a time (masses are integers, so the order
// of the sum does not matter); a block scan over the segments finds the one holding the
// target, and one warp walks it 32 ids at a time with a warp scan. Returns the token to
// every thread.
__device__ int draw(const Row& r, Cut keep, double u, int begin, int end, u64 before_range,
                    u64 total, Shared& s) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int width = end - begin;
  const int rounds = max(kSegmentRounds, (width + 32 * kMaxSegments - 1) / (32 * kMaxSegments));
  const int segment_ids = 32 * rounds;
  const int segments = (width + segment_ids - 1) / segment_ids;
  const auto kept_mass = [&](int i) {
    if (i >= end) return u64{0};
    const float v = r.logit(i);
    return keep.keeps(order_key(v), i) ? r.mass(v) : u64{0};
  };
  for (int g = warp; g < segments; g += kWarps) {
    u64 m = 0;
#pragma unroll 8
    for (int j = 0; j < rounds; ++j) m += kept_mass(begin + g * segment_ids + 32 * j + lane);
    for (int offset = 16; offset > 0; offset /= 2) m += __shfl_xor_sync(0xffffffffu, m, offset);
    if (lane == 0) s.segment_mass[g] = m;
  }
  __syncthreads();
  // Exclusive scan of the segments' masses: each thread a contiguous range of segments,
  // within the warp, then over the warps' totals.
  const int per_thread = (segments + kThreads - 1) / kThreads;
  const int first = min(static_cast<int>(threadIdx.x) * per_thread, segments);
  const int last = min(first + per_thread, segments);
  u64 mine = 0;
  for (int g = first; g < last; ++g) mine += s.segment_mass[g];
  u64 inclusive = mine;
  for (int offset = 1; offset < 32; offset *= 2) {
    const u64 other = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += other;
  }
  if (lane == 31) s.warp_total[warp] = inclusive;
  __syncthreads();
  u64 before = before_range + inclusive - mine, range_total = 0;
  for (int w = 0; w < kWarps; ++w) {
    if (w < warp) before += s.warp_total[w];
    range_total += s.warp_total[w];
  }
  const u64 target = target_of(u, total > 0 ? total : range_total);
  if (before <= target && target < before + mine) {
    for (int g = first; g < last; ++g) {
      if (before + s.segment_mass[g] > target) {
        s.segment = g;
        s.segment_before = before;
        break;
      }
      before += s.segment_mass[g];
    }
  }
  __syncthreads();
  if (warp == 0) {  // the first id of the segment whose running mass exceeds the target
    u64 running = s.segment_before;
    for (int j = 0; j < rounds; ++j) {
      const int i = begin + s.segment * segment_ids + 32 * j + lane;
      u64 run = kept_mass(i);
      for (int offset = 1; offset < 32; offset *= 2) {
        const u64 other = __shfl_up_sync(0xffffffffu, run, offset);
        if (lane >= offset) run += other;
      }
      const unsigned past = __ballot_sync(0xffffffffu, running + run > target);
      if (past != 0) {
        if (lane == __ffs(past) - 1) s.token = i;
        break;
      }
      running += __shfl_sync(0xffffffffu, run, 31);
    }
  }
  __syncthreads();
  return s.token;
}

// The best of logits [begin, end) of a row: (the block's best, whether any was NaN or +inf)
// to every thread, the best also in s.row_best. The order of comparisons does not matter:
// `better` ranks totally.
__device__ SliceBest scan_best(const float* l, int begin, int end, Shared& s) {
  Best best{-INFINITY, INT_MAX};
  int bad = 0;
  const auto consider = [&](float v, int i) {
    bad |= !(v < INFINITY);
    best = better(best, Best{v, i});
  };
  int i = begin + static_cast<int>(threadIdx.x);
  for (; i + (kScanBatch - 1) * kThreads < end; i += kScanBlockLogits) {
    float v[kScanBatch];
#pragma unroll
    for (int b = 0; b < kScanBatch; ++b) v[b] = l[i + b * kThreads];
#pragma unroll
    for (int b = 0; b < kScanBatch; ++b) consider(v[b], i + b * kThreads);
  }
  for (; i < end; i += kThreads) consider(l[i], i);
  return {block_best(best, s), __syncthreads_or(bad)};
}

// The split scan: block (b, row) writes the SliceBest of logits [b · kScanBlockLogits, ...)
// of its row (columns [0, vocab) of logits: [rows, stride] f32) to slices[row · gridDim.x +
// b].
__global__ void __launch_bounds__(kThreads)
    scan_slices_kernel(const float* logits, int stride, int vocab, SliceBest* slices) {
  wait_prior_grids();
  __shared__ Shared s;
  const int row = blockIdx.y, begin = static_cast<int>(blockIdx.x) * kScanBlockLogits;
  const SliceBest mine = scan_best(logits + static_cast<int64_t>(row) * stride, begin,
                                   min(vocab, begin + kScanBlockLogits), s);
  if (threadIdx.x == 0) slices[static_cast<int64_t>(row) * gridDim.x + blockIdx.x] = mine;
}

// The row's best over its slices from scan_slices_kernel (num_slices of them), to every
// thread and to s.row_best, and whether any slice saw a NaN or +inf.
__device__ SliceBest best_of_slices(const SliceBest* row_slices, int num_slices, Shared& s) {
  Best best{-INFINITY, INT_MAX};
  int bad = 0;
  for (int i = static_cast<int>(threadIdx.x); i < num_slices; i += kThreads) {
    best = better(best, row_slices[i].best);
    bad |= row_slices[i].bad;
  }
  const Best row_best = block_best(best, s);
  return {row_best, __syncthreads_or(bad)};
}

// Whether row `row` is drawn from every token (no top-k or top-p cut).
__device__ __forceinline__ bool draws_from_all(const int32_t* top_k, const float* top_p, int row,
                                               int stride) {
  const int k = top_k[row];
  return !(k > 0 && k < stride) && !(top_p[row] < 1.0f);
}

// The split draw: block (b, row) writes the kept mass of logits [b · kScanBlockLogits, ...)
// of its row to slice_mass[row · gridDim.x + b], for rows of plain temperature sampling
// (the others are left alone). slices: scan_slices_kernel's, gridDim.x of them a row.
__global__ void __launch_bounds__(kThreads)
    mass_slices_kernel(const float* logits, int stride, int vocab, const float* temperature,
                       const int32_t* top_k, const float* top_p, const SliceBest* slices,
                       u64* slice_mass) {
  wait_prior_grids();
  __shared__ Shared s;
  const int row = blockIdx.y, num_slices = static_cast<int>(gridDim.x);
  const SliceBest top =
      best_of_slices(slices + static_cast<int64_t>(row) * num_slices, num_slices, s);
  const float t = temperature[row];
  if (top.bad || !(top.best.value > -INFINITY) || !(t > 0) ||
      !draws_from_all(top_k, top_p, row, stride)) {
    return;  // the same for every thread of the block
  }
  const Row r{logits + static_cast<int64_t>(row) * stride, vocab, stride, top.best.value, t};
  const int begin = static_cast<int>(blockIdx.x) * kScanBlockLogits;
  const int end = min(vocab, begin + kScanBlockLogits);
  u64 mine = 0;
  for (int i = begin + static_cast<int>(threadIdx.x); i < end; i += kThreads) {
    mine += r.mass(r.logit(i));
  }
  const u64 total = block_sum(mine, s);
  if (threadIdx.x == 0) slice_mass[static_cast<int64_t>(row) * num_slices + blockIdx.x] = total;
}

// One block per row. logits: [rows, stride] f32 of which columns [0, vocab) count (the
// rest are as if -inf); temperature: [rows] f32 (<= 0: greedy); uniform: [rows] f64 in
// [0, 1); top_k: [rows] i32 (top-k where 0 < k < stride); top_p: [rows] f32 (< 1:
// nucleus); out: [rows] i32, -1 when a counted logit is NaN or +inf or every one is -inf.
// slices: [rows, num_slices] from scan_slices_kernel, or null to scan the row here;
// slice_mass: [rows, num_slices] from mass_slices_kernel, or null.
__global__ void __launch_bounds__(kThreads)
    sample_rows_kernel(const float* logits, int stride, int vocab, const float* temperature,
                       const double* uniform, const int32_t* top_k, const float* top_p,
                       const SliceBest* slices, const u64* slice_mass, int num_slices,
                       int32_t* out) {
  wait_prior_grids();
  __shared__ Shared s;
  const int row = blockIdx.x;
  const float* l = logits + static_cast<int64_t>(row) * stride;

  const int bad =
      slices ? best_of_slices(slices + static_cast<int64_t>(row) * num_slices, num_slices, s).bad
             : scan_best(l, 0, vocab, s).bad;
  const Best top = s.row_best;
  if (bad || !(top.value > -INFINITY)) {
    if (threadIdx.x == 0) out[row] = -1;
    return;
  }
  const float t = temperature[row];
  if (!(t > 0)) {
    if (threadIdx.x == 0) out[row] = top.id;
    return;
  }
  const Row r{l, vocab, stride, top.value, t};
  if (slice_mass && draws_from_all(top_k, top_p, row, stride)) {
    // The split draw: the slice holding the target, then a walk inside it alone.
    const u64* masses = slice_mass + static_cast<int64_t>(row) * num_slices;
    u64 mine = 0;
    for (int i = static_cast<int>(threadIdx.x); i < num_slices; i += kThreads) mine += masses[i];
    const u64 total = block_sum(mine, s);
    if (threadIdx.x == 0) {
      const u64 target = target_of(uniform[row], total);
      u64 before = 0;
      int g = 0;
      while (before + masses[g] <= target) before += masses[g++];
      s.last_id = g;  // free until a cut: the slice
      s.segment_before = before;
    }
    __syncthreads();
    const int g = s.last_id;
    const u64 before = s.segment_before;
    __syncthreads();  // draw rewrites both
    const int begin = g * kScanBlockLogits;
    const int token = draw(r, kKeepAll, uniform[row], begin, min(vocab, begin + kScanBlockLogits),
                           before, total, s);
    if (threadIdx.x == 0) out[row] = token;
    return;
  }
  Cut keep = kKeepAll;
  if (const int k = top_k[row]; k > 0 && k < stride) {
    keep = select_cut(r, keep, false, static_cast<u64>(k), s);
  }
  if (const float p = top_p[row]; p < 1.0f) {
    u64 mine = 0;
    for (int i = threadIdx.x; i < r.width; i += kThreads) {
      const float v = r.logit(i);
      if (keep.keeps(order_key(v), i)) mine += r.mass(v);
    }
    const u64 total = block_sum(mine, s);
    // The host's nucleus_need: top_p of the total, at least 1.
    const u64 need =
        max(static_cast<u64>(static_cast<double>(p) * static_cast<double>(total)), u64{1});
    keep = select_cut(r, keep, true, need, s);  // its tokens all rank ahead of keep's boundary
  }
  const int token = draw(r, keep, uniform[row], 0, r.width, 0, 0, s);
  if (threadIdx.x == 0) out[row] = token;
}

__global__ void substitute_sampled_ids_kernel(int32_t* ids, int n, const int32_t* sampled) {
  wait_prior_grids();
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x)) {
    const int32_t id = ids[i];
    if (id < 0) {
      const int32_t drawn = sampled[-id - 1];
      ids[i] = drawn < 0 ? 0 : drawn;
    }
  }
}

}  // namespace

void substitute_sampled_ids(int32_t* ids, int64_t n, const int32_t* sampled, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kBlock = 256;
  const auto blocks = static_cast<unsigned>(std::min<int64_t>((n + kBlock - 1) / kBlock, 64));
  launch("substitute_sampled_ids_kernel", substitute_sampled_ids_kernel, blocks, kBlock, 0, stream,
         ids, static_cast<int>(n), sampled);
}

namespace {

std::atomic<int> split_max_rows = kSplitScanMaxRows;
std::atomic<bool> split_draw = SplitSampling{}.draw;

int64_t slices_of(int64_t vocab) {
  return (vocab + kScanBlockLogits - 1) / kScanBlockLogits;
}

// The scratch's two arrays: the slices' bests, then (split draw) their masses, 8-aligned.
int64_t mass_offset(int64_t rows, int64_t vocab) {
  const int64_t bests = rows * slices_of(vocab) * static_cast<int64_t>(sizeof(SliceBest));
  return (bests + 7) / 8 * 8;
}

}  // namespace

void prepare_split_sampling() {
  set_split_sampling(
      {env_int("CASCADE_SAMPLE_SPLIT_ROWS", kSplitScanMaxRows, 0, 1 << 16),
       env_int("CASCADE_SAMPLE_SPLIT_DRAW", SplitSampling{}.draw ? 1 : 0, 0, 1) == 1});
}

void set_split_sampling(SplitSampling split) {
  split_max_rows = static_cast<int>(split.max_rows);
  split_draw = split.draw;
}

SplitSampling split_sampling() {
  return {split_max_rows.load(), split_draw.load()};
}

int64_t sample_rows_scratch_bytes(int64_t rows, int64_t vocab) {
  if (rows > split_max_rows.load()) return 0;
  return mass_offset(rows, vocab) +
         (split_draw.load() ? rows * slices_of(vocab) * static_cast<int64_t>(sizeof(u64)) : 0);
}

void sample_rows(const float* logits, int64_t rows, int64_t stride, int64_t vocab,
                 const float* temperature, const double* uniform, const int32_t* top_k,
                 const float* top_p, bool any_temperature, void* scratch, int32_t* out,
                 cudaStream_t stream) {
  if (rows == 0) return;
  SliceBest* slices = nullptr;
  u64* slice_mass = nullptr;
  const auto num_slices = static_cast<int>(slices_of(vocab));
  if (sample_rows_scratch_bytes(rows, vocab) > 0) {
    slices = static_cast<SliceBest*>(scratch);
    const dim3 grid(static_cast<unsigned>(num_slices), static_cast<unsigned>(rows));
    launch("scan_slices_kernel", scan_slices_kernel, grid, kThreads, 0, stream, logits,
           static_cast<int>(stride), static_cast<int>(vocab), slices);
    if (split_draw.load() && any_temperature) {
      slice_mass = reinterpret_cast<u64*>(static_cast<char*>(scratch) + mass_offset(rows, vocab));
      launch("mass_slices_kernel", mass_slices_kernel, grid, kThreads, 0, stream, logits,
             static_cast<int>(stride), static_cast<int>(vocab), temperature, top_k, top_p,
             static_cast<const SliceBest*>(slices), slice_mass);
    }
  }
  launch("sample_rows_kernel", sample_rows_kernel, static_cast<unsigned>(rows), kThreads, 0, stream,
         logits, static_cast<int>(stride), static_cast<int>(vocab), temperature, uniform, top_k,
         top_p, static_cast<const SliceBest*>(slices), static_cast<const u64*>(slice_mass),
         num_slices, out);
}

}  // namespace cascade::cuda

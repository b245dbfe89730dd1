// Token sampling on the device with the host sampler's arithmetic (src/engine/sampler.cpp),
// step by step, so that a row gives the same token:
// - greedy: argmax with ties to the lowest id;
// - temperature over the whole vocabulary: weights expf((logit - max) / temperature) in
//   f32, masses of blocks of 128 tokens summed in 8 f64 lanes, and the inverse CDF walks
//   blocks then tokens in id order, returning the first drawable token whose running
//   weight exceeds u · total;
// - top-k (k <= kMaxDeviceTopK), optionally with top-p: the k best tokens (logit
//   descending, id ascending) found by a radix select on the logits' order-preserving
//   bits, sorted best first; the nucleus is the shortest best-first prefix whose mass
//   (summed one weight at a time in f64) reaches top_p · total (total in 8 f64 lanes);
//   the draw walks that prefix as above.
// Only expf may differ from the host's by an ulp.
#include <cfloat>
#include <climits>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kBlock = 128;  // the host sampler's kBlock
constexpr int kLanes = 8;    // the host sampler's kLanes
constexpr int kRadixBins = 256;

struct Best {
  float value;
  int id;
};

// Ranks ahead: higher logit, then lower id.
__device__ __forceinline__ Best better(Best a, Best b) {
  return (b.value > a.value || (b.value == a.value && b.id < a.id)) ? b : a;
}

__device__ __forceinline__ float weight_of(float logit, float max_logit, float temperature) {
  return expf((logit - max_logit) / temperature);
}

// The block's mass as the host's sum_weights: 8 lanes over whole groups, then the tail,
// then the lanes in order.
__device__ double block_mass_of(const float* logits, int begin, int end, float max_logit,
                                float temperature) {
  double lane[kLanes] = {};
  int i = begin;
  for (; i + kLanes <= end; i += kLanes) {
#pragma unroll
    for (int j = 0; j < kLanes; ++j) lane[j] += weight_of(logits[i + j], max_logit, temperature);
  }
  double sum = 0;
  for (; i < end; ++i) sum += weight_of(logits[i], max_logit, temperature);
#pragma unroll
  for (int j = 0; j < kLanes; ++j) sum += lane[j];
  return sum;
}

// The host's walk(): first drawable token of [begin, end) whose running weight exceeds
// target; the last drawable one when rounding keeps it from getting there.
__device__ int walk(const float* logits, int begin, int end, double running, double target,
                    float max_logit, float temperature) {
  int last_drawable = begin;
  for (int i = begin; i < end; ++i) {
    const float w = weight_of(logits[i], max_logit, temperature);
    if (!(w > 0)) continue;
    running += w;
    last_drawable = i;
    if (running > target) break;
  }
  return last_drawable;
}

// Candidates of a top-k row, best first once sorted.
struct TopK {
  float logit[kMaxDeviceTopK];
  float weight[kMaxDeviceTopK];
  int id[kMaxDeviceTopK];
  unsigned bins[kRadixBins];
  unsigned warp_count[kThreads / 32];
  unsigned prefix;  // the radix select's digits so far
  int remaining;    // tokens still to take at the current prefix
  int count;        // candidates stored
};

// Larger float, larger key (-inf lowest of the non-NaN values).
__device__ __forceinline__ unsigned order_key(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ bool ranks_ahead(float la, int ia, float lb, int ib) {
  return la > lb || (la == lb && ia < ib);
}

// sum_weights of the host over weight[begin, end): 8 lanes, the tail, then the lanes.
__device__ double lane_sum(const float* weight, int begin, int end) {
  double lane[kLanes] = {};
  int i = begin;
  for (; i + kLanes <= end; i += kLanes) {
#pragma unroll
    for (int j = 0; j < kLanes; ++j) lane[j] += weight[i + j];
  }
  double sum = 0;
  for (; i < end; ++i) sum += weight[i];
#pragma unroll
  for (int j = 0; j < kLanes; ++j) sum += lane[j];
  return sum;
}

// The host's walk over candidates [begin, end).
__device__ int walk_candidates(const TopK& c, int begin, int end, double running, double target) {
  int last_drawable = c.id[begin];
  for (int i = begin; i < end; ++i) {
    if (!(c.weight[i] > 0)) continue;
    running += c.weight[i];
    last_drawable = c.id[i];
    if (running > target) break;
  }
  return last_drawable;
}

// The host's draw() over the first n candidates (one thread).
__device__ int draw_candidates(const TopK& c, int n, double u) {
  const int blocks = (n + kBlock - 1) / kBlock;
  double mass[kMaxDeviceTopK / kBlock];
  double total = 0;
  for (int b = 0; b < blocks; ++b) {
    mass[b] = lane_sum(c.weight, b * kBlock, min((b + 1) * kBlock, n));
    total += mass[b];
  }
  const double target = u * total;
  double running = 0;
  int last_massive = 0;
  for (int b = 0; b < blocks; ++b) {
    if (!(mass[b] > 0)) continue;
    last_massive = b;
    if (running + mass[b] > target) {
      return walk_candidates(c, b * kBlock, min((b + 1) * kBlock, n), running, target);
    }
    running += mass[b];
  }
  return walk_candidates(c, last_massive * kBlock, min((last_massive + 1) * kBlock, n), 0,
                         INFINITY);
}

// Logit of id i of a row whose ids [vocab, width) count as -inf.
__device__ __forceinline__ float logit_of(const float* l, int vocab, int i) {
  return i < vocab ? l[i] : -INFINITY;
}

// Block-wide: the k best of the ids [0, width) into c (unsorted), k <= kMaxDeviceTopK and
// k < width. Radix select of the k-th key, 8 bits at a time from the top, then every token
// above it and, in id order, the first `remaining` equal to it.
__device__ void select_top_k(const float* l, int vocab, int width, int k, TopK& c) {
  if (threadIdx.x == 0) {
    c.prefix = 0;
    c.remaining = k;
    c.count = 0;
  }
  unsigned mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < kRadixBins; b += kThreads) c.bins[b] = 0;
    __syncthreads();
    const unsigned prefix = c.prefix;
    for (int i = threadIdx.x; i < width; i += kThreads) {
      const unsigned key = order_key(logit_of(l, vocab, i));
      if ((key & mask) == prefix) atomicAdd(&c.bins[(key >> shift) & 0xffu], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int remaining = c.remaining;
      for (int b = kRadixBins - 1; b >= 0; --b) {
        const int n = static_cast<int>(c.bins[b]);
        if (n >= remaining) {
          c.prefix = prefix | (static_cast<unsigned>(b) << shift);
          break;
        }
        remaining -= n;
      }
      c.remaining = remaining;
    }
    mask |= 0xffu << shift;
    __syncthreads();
  }
  const unsigned kth = c.prefix;
  const int take_equal = c.remaining;
  const int above = k - take_equal;
  for (int i = threadIdx.x; i < width; i += kThreads) {
    const float v = logit_of(l, vocab, i);
    if (order_key(v) > kth) {
      const int slot = atomicAdd(&c.count, 1);
      c.logit[slot] = v;
      c.id[slot] = i;
    }
  }
  // Ties at the k-th key: the lowest ids first, in chunks of kThreads tokens.
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  int taken = 0;
  for (int chunk = 0; chunk < width && taken < take_equal; chunk += kThreads) {
    const int i = chunk + static_cast<int>(threadIdx.x);
    const bool equal = i < width && order_key(logit_of(l, vocab, i)) == kth;
    const unsigned ballot = __ballot_sync(0xffffffffu, equal);
    if (lane == 0) c.warp_count[warp] = __popc(ballot);
    __syncthreads();
    int before = taken + __popc(ballot & ((1u << lane) - 1u));
    int chunk_total = 0;
    for (int w = 0; w < kThreads / 32; ++w) {
      if (w < warp) before += static_cast<int>(c.warp_count[w]);
      chunk_total += static_cast<int>(c.warp_count[w]);
    }
    if (equal && before < take_equal) {
      c.logit[above + before] = logit_of(l, vocab, i);
      c.id[above + before] = i;
    }
    taken += chunk_total;
    __syncthreads();  // warp_count is rewritten by the next chunk
  }
  __syncthreads();
}

// Block-wide bitonic sort of c's first n candidates, best first (n <= kMaxDeviceTopK).
__device__ void sort_best_first(TopK& c, int n) {
  int size = 1;
  while (size < n) size *= 2;
  for (int i = n + static_cast<int>(threadIdx.x); i < size; i += kThreads) {
    c.logit[i] = -INFINITY;  // behind every candidate: -inf ones have smaller ids
    c.id[i] = INT_MAX;
  }
  __syncthreads();
  for (int span = 2; span <= size; span *= 2) {
    for (int stride = span / 2; stride > 0; stride /= 2) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int j = i ^ stride;
        if (j <= i) continue;
        const bool ascending_block = (i & span) == 0;  // this block sorts best first
        const bool j_first = ranks_ahead(c.logit[j], c.id[j], c.logit[i], c.id[i]);
        if (j_first == ascending_block) {
          const float tl = c.logit[i];
          const int ti = c.id[i];
          c.logit[i] = c.logit[j];
          c.id[i] = c.id[j];
          c.logit[j] = tl;
          c.id[j] = ti;
        }
      }
      __syncthreads();
    }
  }
}

// The host sampler's select_candidates + draw for a top-k row of `width` ids of which
// [vocab, width) are -inf, as the engine masks them for the host. Returns the token
// (thread 0's value is the one that counts).
__device__ int sample_top_k(const float* l, int vocab, int width, int k, float top_p,
                            float temperature, double u, TopK& c) {
  select_top_k(l, vocab, width, k, c);
  sort_best_first(c, k);
  const float max_logit = c.logit[0];
  for (int i = threadIdx.x; i < k; i += kThreads) {
    c.weight[i] = expf((c.logit[i] - max_logit) / temperature);
  }
  __syncthreads();
  if (threadIdx.x != 0) return -1;
  int kept = k;
  if (top_p < 1.0f) {
    const double need = static_cast<double>(top_p) * lane_sum(c.weight, 0, k);
    double mass = 0;
    for (int i = 0; i < k; ++i) {
      mass += c.weight[i];
      if (mass >= need) {
        kept = i + 1;
        break;
      }
    }
  }
  return draw_candidates(c, kept, u);
}

// One block per row. logits: [rows, stride] f32 of which columns [0, vocab) count (the
// rest are as if -inf); temperature: [rows] f32 (<= 0: greedy); uniform: [rows] f64 in
// [0, 1); top_k: [rows] i32 (top-k where 0 < k < stride, k <= kMaxDeviceTopK); top_p:
// [rows] f32 (< 1: nucleus, top-k rows only); block_mass: [rows, ceil(vocab / 128)] f64
// scratch; out: [rows] i32, -1 when a counted logit is NaN or +inf or every one is -inf.
__global__ void sample_rows_kernel(const float* logits, int stride, int vocab,
                                   const float* temperature, const double* uniform,
                                   const int32_t* top_k, const float* top_p, double* block_mass,
                                   int32_t* out) {
  __shared__ TopK candidates;
  __shared__ Best warp_best[kThreads / 32];
  __shared__ Best row_best;
  const int row = blockIdx.x;
  const float* l = logits + static_cast<int64_t>(row) * stride;

  Best best{-INFINITY, INT_MAX};
  int bad = 0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    const float v = l[i];
    bad |= !(v < INFINITY);
    best = better(best, Best{v, i});
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset),
                     __shfl_xor_sync(0xffffffffu, best.id, offset)};
    best = better(best, other);
  }
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  bad = __syncthreads_or(bad);
  if (threadIdx.x == 0) {
    Best b = warp_best[0];
    for (int w = 1; w < kThreads / 32; ++w) b = better(b, warp_best[w]);
    row_best = b;
  }
  __syncthreads();
  const Best top = row_best;
  if (bad || !(top.value > -INFINITY)) {
    if (threadIdx.x == 0) out[row] = -1;
    return;
  }
  const float t = temperature[row];
  if (!(t > 0)) {
    if (threadIdx.x == 0) out[row] = top.id;
    return;
  }
  if (const int k = top_k[row]; k > 0 && k < stride) {
    const int token = sample_top_k(l, vocab, stride, k, top_p[row], t, uniform[row], candidates);
    if (threadIdx.x == 0) out[row] = token;
    return;
  }

  const int blocks = (vocab + kBlock - 1) / kBlock;
  double* mass = block_mass + static_cast<int64_t>(row) * blocks;
  for (int b = threadIdx.x; b < blocks; b += kThreads) {
    mass[b] = block_mass_of(l, b * kBlock, min((b + 1) * kBlock, vocab), top.value, t);
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  double total = 0;
  for (int b = 0; b < blocks; ++b) total += mass[b];
  const double target = uniform[row] * total;
  double running = 0;
  int last_massive = 0;
  for (int b = 0; b < blocks; ++b) {
    if (!(mass[b] > 0)) continue;
    last_massive = b;
    if (running + mass[b] > target) {
      out[row] = walk(l, b * kBlock, min((b + 1) * kBlock, vocab), running, target, top.value, t);
      return;
    }
    running += mass[b];
  }
  out[row] = walk(l, last_massive * kBlock, min((last_massive + 1) * kBlock, vocab), 0, INFINITY,
                  top.value, t);
}

}  // namespace

int64_t sample_rows_scratch_bytes(int64_t rows, int64_t vocab) {
  return rows * ((vocab + kBlock - 1) / kBlock) * static_cast<int64_t>(sizeof(double));
}

void sample_rows(const float* logits, int64_t rows, int64_t stride, int64_t vocab,
                 const float* temperature, const double* uniform, const int32_t* top_k,
                 const float* top_p, double* block_mass, int32_t* out, cudaStream_t stream) {
  if (rows == 0) return;
  sample_rows_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
      logits, static_cast<int>(stride), static_cast<int>(vocab), temperature, uniform, top_k, top_p,
      block_mass, out);
  CASCADE_CUDA_CHECK_LAUNCH("sample_rows_kernel");
}

}  // namespace cascade::cuda

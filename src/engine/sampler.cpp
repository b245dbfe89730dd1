#include "engine/sampler.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"
#include "ops/cpu/thread_pool.h"

namespace cascade {
namespace {

constexpr float kGreedyTemperature = 1e-5f;  // vLLM's _SAMPLING_EPS
constexpr float kInf = std::numeric_limits<float>::infinity();

// Strict "ranks ahead of" order: higher logit first, lower id first among equal logits.
bool ranks_ahead(const SamplingCandidate& a, const SamplingCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

[[noreturn]] void throw_bad_logit(size_t index, float value) {
  throw Error("sampler: logits[" + std::to_string(index) + "] is " + std::to_string(value) +
              " (logits must be finite or -inf)");
}

void check_not_all_masked(float max_logit) {
  check(max_logit > -kInf, "sampler: every logit is -inf, no token can be sampled");
}

// Logits are scanned in blocks: a block's maximum is computed in independent lanes (which the
// compiler turns into SIMD at -O2) and most blocks are then skipped as a whole.
constexpr size_t kBlock = 128;
constexpr size_t kLanes = 8;

// The largest value of logits[begin, end); throws on NaN or +inf.
float checked_max(std::span<const float> logits, size_t begin, size_t end) {
  float lane_max[kLanes];
  uint32_t lane_bad[kLanes];
  for (size_t j = 0; j < kLanes; ++j) {
    lane_max[j] = -kInf;
    lane_bad[j] = 0;
  }
  size_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float v = logits[i + j];
      lane_max[j] = v > lane_max[j] ? v : lane_max[j];
      lane_bad[j] |= !(v < kInf);  // NaN or +inf
    }
  }
  float max = -kInf;
  uint32_t bad = 0;
  for (size_t j = 0; j < kLanes; ++j) {
    max = lane_max[j] > max ? lane_max[j] : max;
    bad |= lane_bad[j];
  }
  for (; i < end; ++i) {
    max = logits[i] > max ? logits[i] : max;
    bad |= !(logits[i] < kInf);
  }
  if (bad != 0) {
    for (i = begin; i < end; ++i)
      if (!(logits[i] < kInf)) throw_bad_logit(i, logits[i]);
  }
  return max;
}

int32_t argmax(std::span<const float> logits) {
  size_t best = 0;
  float best_logit = -kInf;
  for (size_t begin = 0; begin < logits.size(); begin += kBlock) {
    const size_t end = std::min(begin + kBlock, logits.size());
    const float block_max = checked_max(logits, begin, end);
    if (!(block_max > best_logit)) continue;  // strict: ties keep the lower id
    best_logit = block_max;
    best = static_cast<size_t>(
        std::find(logits.begin() + static_cast<ptrdiff_t>(begin), logits.end(), block_max) -
        logits.begin());
  }
  check_not_all_masked(best_logit);
  return static_cast<int32_t>(best);
}

// The k best tokens, best first, in one pass: a heap whose front is the worst token kept, so
// once it is full a block whose maximum does not beat the front is skipped whole.
void select_top_k(std::span<const float> logits, size_t k, std::vector<SamplingCandidate>& out) {
  out.clear();
  float worst_kept = -kInf;  // the heap front's logit once the heap is full
  for (size_t begin = 0; begin < logits.size(); begin += kBlock) {
    const size_t end = std::min(begin + kBlock, logits.size());
    const float block_max = checked_max(logits, begin, end);
    for (size_t i = begin; i < end; ++i) {
      if (out.size() == k && !(block_max > worst_kept)) break;
      const float v = logits[i];
      if (out.size() == k && !(v > worst_kept)) continue;  // equal logit, higher id: behind
      const SamplingCandidate candidate{v, 0.0f, static_cast<int32_t>(i)};
      if (out.size() < k) {
        out.push_back(candidate);
        std::push_heap(out.begin(), out.end(), ranks_ahead);
      } else {
        std::pop_heap(out.begin(), out.end(), ranks_ahead);
        out.back() = candidate;
        std::push_heap(out.begin(), out.end(), ranks_ahead);
      }
      if (out.size() == k) worst_kept = out.front().logit;
    }
  }
  std::sort_heap(out.begin(), out.end(), ranks_ahead);
}

// Every token, in id order; returns the largest logit.
float select_all(std::span<const float> logits, std::vector<SamplingCandidate>& out) {
  const float max_logit = checked_max(logits, 0, logits.size());
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = {logits[i], 0.0f, static_cast<int32_t>(i)};
  return max_logit;
}

constexpr size_t kMaxSampledVocab = size_t{1} << 23;

// Masses are integers: weight · 2^40 truncated (the best token's is 2^40). Sums of them are
// exact in any order, so the nucleus and the draw are the same whichever way the sums are
// taken: here one at a time, on the device in parallel (src/ops/cuda/cuda_sampling.cu). A
// token whose weight is below 2^-40 of the best one's is never drawn. Vocabularies up to
// 2^23 tokens keep every sum below 2^63.
uint64_t mass_of(float weight) {
  return static_cast<uint64_t>(weight * 0x1p40f);
}

// The mass `need` of top_p of `total`, at least 1 (so the nucleus is never empty).
uint64_t nucleus_need(float top_p, uint64_t total) {
  const auto need = static_cast<uint64_t>(static_cast<double>(top_p) * static_cast<double>(total));
  return std::max<uint64_t>(need, 1);
}

uint64_t total_mass(std::span<const SamplingCandidate> c) {
  uint64_t total = 0;
  for (const auto& x : c) total += mass_of(x.weight);
  return total;
}

// Candidates already best first: the shortest prefix whose mass reaches `need` (>= 1).
size_t nucleus_of_sorted(std::span<const SamplingCandidate> c, uint64_t need) {
  uint64_t mass = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    mass += mass_of(c[i].weight);
    if (mass >= need) return i + 1;
  }
  return c.size();
}

// Candidates in any order: moves the shortest best-first set whose mass reaches `need` to
// the front and returns its size (>= 1). Quickselect on mass: each round splits the undecided
// range [lo, hi) at its middle rank and keeps the side holding the boundary, so the cost is
// linear in expectation.
size_t nucleus_by_selection(std::span<SamplingCandidate> c, uint64_t need) {
  size_t lo = 0;         // [0, lo): kept, rank ahead of [lo, n)
  size_t hi = c.size();  // [hi, n): dropped; `need` is the mass still missing from [lo, hi)
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    std::nth_element(c.begin() + lo, c.begin() + mid, c.begin() + hi, ranks_ahead);
    uint64_t ahead = 0;
    for (size_t i = lo; i < mid; ++i) ahead += mass_of(c[i].weight);
    if (ahead >= need) {
      hi = mid;
      continue;
    }
    const uint64_t through_mid = ahead + mass_of(c[mid].weight);
    if (through_mid >= need) return mid + 1;
    need -= through_mid;
    lo = mid + 1;
  }
  return hi;  // [lo, hi) is the one token still needed
}

// Buckets of (max logit - logit) / temperature, kBucketsPerNat to a nat. The bucket index is a
// non-decreasing function of rank, so whole buckets can be kept or dropped by their mass.
constexpr int kBucketsPerNat = 8;
constexpr int kBuckets = 64 * kBucketsPerNat;  // the last also holds everything below e^-64

// Every token, in id order (from select_all): the same result as nucleus_by_selection, but only
// the bucket where the mass reaches `need` is ranked exactly; the buckets above it are kept
// whole. A 151,936-token vocabulary then costs two linear passes and a selection
// over a few thousand tokens instead of a selection over all of them.
size_t nucleus_by_buckets(std::vector<SamplingCandidate>& c, float max_logit, float temperature,
                          uint64_t need) {
  const float scale = static_cast<float>(kBucketsPerNat) / temperature;
  auto bucket_of = [&](float logit) {
    const float b = (max_logit - logit) * scale;  // >= 0; +inf for masked tokens
    return b < static_cast<float>(kBuckets - 1) ? static_cast<int>(b) : kBuckets - 1;
  };
  std::array<uint64_t, kBuckets> mass{};
  for (const auto& x : c) mass[static_cast<size_t>(bucket_of(x.logit))] += mass_of(x.weight);
  int boundary = 0;
  uint64_t above = 0;  // mass of the buckets before `boundary`
  while (above + mass[static_cast<size_t>(boundary)] < need) {
    above += mass[static_cast<size_t>(boundary++)];  // need <= total: stops inside the range
  }

  // Compact the kept buckets and the boundary bucket to the front, then put the boundary
  // bucket last and select within it. (Orders are deterministic; no allocation.)
  size_t kept = 0;
  for (const auto& x : c) {
    if (bucket_of(x.logit) <= boundary) c[kept++] = x;
  }
  const auto first_boundary =
      std::partition(c.begin(), c.begin() + static_cast<ptrdiff_t>(kept),
                     [&](const SamplingCandidate& x) { return bucket_of(x.logit) < boundary; });
  const auto whole = static_cast<size_t>(first_boundary - c.begin());
  const std::span<SamplingCandidate> boundary_bucket(c.data() + whole, kept - whole);
  return whole + nucleus_by_selection(boundary_bucket, need - above);
}

// The last-ranked of the first `kept` candidates (any order).
SamplingCandidate last_ranked(std::span<const SamplingCandidate> c, size_t kept) {
  SamplingCandidate last = c[0];
  for (size_t i = 1; i < kept; ++i) {
    if (ranks_ahead(last, c[i])) last = c[i];
  }
  return last;
}

// Every token that ranks ahead of `boundary`, and the boundary itself, into c in id order,
// with its weight.
void keep_through(std::span<const float> logits, SamplingCandidate boundary, float max_logit,
                  float temperature, std::vector<SamplingCandidate>& c) {
  c.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    const SamplingCandidate x{logits[i], 0.0f, static_cast<int32_t>(i)};
    if (x.logit > boundary.logit || (x.logit == boundary.logit && x.id <= boundary.id)) {
      c.push_back({x.logit, std::exp((x.logit - max_logit) / temperature), x.id});
    }
  }
}

// Inverse CDF over the candidates in their (id) order: the first whose running mass exceeds
// u · total (rounded down, and below total). Zero-mass candidates are never returned.
int32_t draw(std::span<const SamplingCandidate> c, double u) {
  const uint64_t total = total_mass(c);
  const uint64_t target =
      std::min(static_cast<uint64_t>(u * static_cast<double>(total)), total - 1);
  uint64_t running = 0;
  for (const auto& x : c) {
    running += mass_of(x.weight);
    if (running > target) return x.id;
  }
  return c.back().id;  // not reached: the running mass ends at total > target
}

}  // namespace

bool is_greedy(const SamplingParams& params) {
  return params.temperature < kGreedyTemperature || params.top_k == 1;
}

std::span<const SamplingCandidate> select_candidates(std::span<const float> logits,
                                                     const SamplingParams& params,
                                                     SamplerScratch& scratch) {
  check(!logits.empty(), "sampler: logits row is empty");
  check(logits.size() <= kMaxSampledVocab, [&] {
    return "sampler: vocabulary of " + std::to_string(logits.size()) + " exceeds " +
           std::to_string(kMaxSampledVocab) + " tokens";
  });
  auto& c = scratch.candidates;
  if (is_greedy(params)) {
    const int32_t best = argmax(logits);
    c.assign(1, {logits[static_cast<size_t>(best)], 1.0f, best});
    return c;
  }
  const bool top_k_on = params.top_k > 0 && static_cast<size_t>(params.top_k) < logits.size();
  float max_logit;
  if (top_k_on) {
    select_top_k(logits, static_cast<size_t>(params.top_k), c);
    max_logit = c.front().logit;
  } else {
    max_logit = select_all(logits, c);
  }
  check_not_all_masked(max_logit);

  for (auto& x : c) x.weight = std::exp((x.logit - max_logit) / params.temperature);
  if (!top_k_on && !(params.top_p < 1.0f)) return c;  // every token, in id order
  size_t kept = c.size();
  if (params.top_p < 1.0f) {
    const uint64_t need = nucleus_need(params.top_p, total_mass(c));
    kept = top_k_on ? nucleus_of_sorted(c, need)
                    : nucleus_by_buckets(c, max_logit, params.temperature, need);
  }
  if (top_k_on) {  // a few candidates: put them in id order
    c.resize(kept);
    std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  } else {  // up to the whole vocabulary, in some order: take it again from the logits
    keep_through(logits, last_ranked(c, kept), max_logit, params.temperature, c);
  }
  return c;
}

int32_t sample_token(std::span<const float> logits, const SamplingParams& params, RequestRng& rng,
                     SamplerScratch& scratch) {
  if (is_greedy(params)) {
    check(!logits.empty(), "sampler: logits row is empty");
    return argmax(logits);
  }
  return draw(select_candidates(logits, params, scratch), rng.next_uniform());
}

void sample_tokens(const float* logits, int rows, int vocab,
                   std::span<const SamplingParams* const> params, std::span<RequestRng* const> rngs,
                   std::span<int32_t> out, ThreadPool* pool) {
  check(rows >= 0 && vocab > 0, "sampler: logits shape [" + std::to_string(rows) + ", " +
                                    std::to_string(vocab) + "] is invalid");
  const auto n = static_cast<size_t>(rows);
  check(params.size() == n && rngs.size() == n && out.size() == n,
        "sampler: " + std::to_string(rows) + " logits rows but " + std::to_string(params.size()) +
            " params, " + std::to_string(rngs.size()) + " rngs, " + std::to_string(out.size()) +
            " outputs");
  const auto row_size = static_cast<size_t>(vocab);
  auto sample_rows = [&](int64_t begin, int64_t end) {
    SamplerScratch scratch;
    for (auto r = static_cast<size_t>(begin); r < static_cast<size_t>(end); ++r) {
      const std::span<const float> row(logits + r * row_size, row_size);
      out[r] = sample_token(row, *params[r], *rngs[r], scratch);
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(rows, 1, sample_rows);
  } else {
    sample_rows(0, rows);
  }
}

}  // namespace cascade

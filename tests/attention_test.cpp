// CPU attention (tasks + merge) against naive softmax attention in double, and the
// properties the cascade design rests on: splitting KV into tasks and merging is exact,
// rotating the query by rope_delta equals storing keys at shifted positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.h"
#include "cache/cascade_planner.h"
#include "ops/backend.h"

namespace cascade {
namespace {

constexpr double kTheta = 10000.0;

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void rope_reference(double* x, int d, int64_t position) {
  for (int i = 0; i < d / 2; ++i) {
    const double angle = double(position) * std::pow(kTheta, -2.0 * i / d);
    const double a = x[i], b = x[i + d / 2];
    x[i] = a * std::cos(angle) - b * std::sin(angle);
    x[i + d / 2] = b * std::cos(angle) + a * std::sin(angle);
  }
}

// A sequence's raw (un-normed, un-rotated) q, k, v per token.
struct Sequence {
  int tokens, hq, hkv, d;
  std::vector<float> q, k, v;  // [tokens, h, d]
  Sequence(int n, int q_heads, int kv_heads, int dim, uint32_t seed)
      : tokens(n),
        hq(q_heads),
        hkv(kv_heads),
        d(dim),
        q(random_floats(size_t(n) * q_heads * dim, seed)),
        k(random_floats(size_t(n) * kv_heads * dim, seed + 1)),
        v(random_floats(size_t(n) * kv_heads * dim, seed + 2)) {}
};

// Naive causal attention of token t's query over tokens [0, t] in double.
std::vector<double> naive_attention(const Sequence& s, int t) {
  std::vector<double> out(size_t(s.hq) * s.d, 0.0);
  const int group = s.hq / s.hkv;
  for (int h = 0; h < s.hq; ++h) {
    std::vector<double> q(s.q.begin() + (t * s.hq + h) * s.d,
                          s.q.begin() + (t * s.hq + h + 1) * s.d);
    rope_reference(q.data(), s.d, t);
    std::vector<double> scores(size_t(t) + 1);
    for (int j = 0; j <= t; ++j) {
      std::vector<double> k(s.k.begin() + (j * s.hkv + h / group) * s.d,
                            s.k.begin() + (j * s.hkv + h / group + 1) * s.d);
      rope_reference(k.data(), s.d, j);
      double dot = 0;
      for (int i = 0; i < s.d; ++i) dot += q[i] * k[i];
      scores[j] = dot / std::sqrt(double(s.d));
    }
    const double mx = *std::max_element(scores.begin(), scores.end());
    double sum = 0;
    for (double& x : scores) sum += (x = std::exp(x - mx));
    for (int j = 0; j <= t; ++j) {
      for (int i = 0; i < s.d; ++i) {
        out[h * s.d + i] += scores[j] / sum * s.v[(j * s.hkv + h / group) * s.d + i];
      }
    }
  }
  return out;
}

class AttentionTest : public ::testing::Test {
 protected:
  static constexpr int kPageSize = 4;
  std::unique_ptr<Backend> backend = make_cpu_backend(2);

  KvLayer make_cache(int pages, int hkv, int d) {
    return {backend->allocate(DType::F32, {pages, kPageSize, hkv, d}),
            backend->allocate(DType::F32, {pages, kPageSize, hkv, d})};
  }

  // Stores every token of `s` into `cache`: token j at slot slot_of(j), rotated at
  // key_position(j).
  template <typename SlotOf, typename PositionOf>
  void store(const Sequence& s, KvLayer& cache, SlotOf slot_of, PositionOf key_position) {
    const int width = (s.hq + 2 * s.hkv) * s.d;
    std::vector<float> qkv(size_t(s.tokens) * width);
    std::vector<int32_t> slots(s.tokens), positions(s.tokens);
    for (int j = 0; j < s.tokens; ++j) {
      float* row = qkv.data() + size_t(j) * width;
      std::copy_n(s.q.begin() + j * s.hq * s.d, s.hq * s.d, row);
      std::copy_n(s.k.begin() + j * s.hkv * s.d, s.hkv * s.d, row + s.hq * s.d);
      std::copy_n(s.v.begin() + j * s.hkv * s.d, s.hkv * s.d, row + (s.hq + s.hkv) * s.d);
      slots[j] = slot_of(j);
      positions[j] = key_position(j);
    }
    Tensor q = backend->allocate(DType::F32, {s.tokens, s.hq, s.d});
    backend->qkv_store(backend->upload(qkv.data(), DType::F32, {s.tokens, width}), Tensor{},
                       Tensor{}, 1e-6f, backend->upload_i32(positions.data(), {s.tokens}),
                       backend->upload_i32(slots.data(), {s.tokens}), RopeParams{kTheta, s.d}, q,
                       cache);
  }

  // Runs attention for the queries of tokens `query_tokens` of the sequences `seqs` (row r
  // is query_tokens[r] of seqs[r]), as planned by the caller.
  std::vector<float> run(const std::vector<const Sequence*>& seqs,
                         const std::vector<int>& query_tokens, const KvLayer& cache,
                         AttentionPlan& plan) {
    const int rows = int(query_tokens.size()), hq = seqs[0]->hq, d = seqs[0]->d;
    std::vector<float> q(size_t(rows) * hq * d);
    std::vector<int32_t> positions(rows);
    for (int r = 0; r < rows; ++r) {
      std::copy_n(seqs[r]->q.begin() + query_tokens[r] * hq * d, hq * d, q.begin() + r * hq * d);
      positions[r] = query_tokens[r];
    }
    plan.finalize();
    Tensor out = backend->allocate(DType::F32, {rows, hq, d});
    backend->attention(backend->upload(q.data(), DType::F32, {rows, hq, d}),
                       backend->upload_i32(positions.data(), {rows}), cache, plan,
                       RopeParams{kTheta, d}, out);
    std::vector<float> host(size_t(out.numel()));
    backend->download_f32(out, host.data());
    return host;
  }
};

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

std::vector<int32_t> iota(int begin, int end) {
  std::vector<int32_t> v(size_t(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

// Pages of a sequence laid out in a scrambled order in the pool.
const std::vector<int32_t> kScrambled = {7, 2, 9, 0, 5, 11, 3, 8, 1, 10, 6, 4};

TEST_F(AttentionTest, SingleCausalTaskEqualsNaiveAttentionWithGqaAndScrambledPages) {
  const Sequence s(37, 6, 2, 16, 100);
  KvLayer cache = make_cache(12, s.hkv, s.d);
  const auto slot = [&](int j) { return kScrambled[j / kPageSize] * kPageSize + j % kPageSize; };
  store(s, cache, slot, [](int j) { return j; });
  const std::vector<int32_t> pages(kScrambled.begin(), kScrambled.begin() + 10);
  AttentionPlan plan;
  plan.page_size = kPageSize;
  plan.num_rows = s.tokens;
  plan.add_task(iota(0, s.tokens), pages, s.tokens, 0, 0, true);
  const auto got = run(std::vector<const Sequence*>(s.tokens, &s), iota(0, s.tokens), cache, plan);
  double worst = 0;
  for (int t = 0; t < s.tokens; ++t) {
    const auto want = naive_attention(s, t);
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::fabs(got[t * want.size() + i] - want[i]));
    }
  }
  // f32 dot products of 16 terms and f32 RoPE angles at positions < 37: ~1e-6.
  EXPECT_LT(worst, 2e-5);
}

// A decode step's shape: tasks of one query row each (of a sequence, over its scrambled
// pages), next to a task of several rows, in one plan: every row as naive attention, and
// bitwise the same for any thread count.
TEST_F(AttentionTest, OneRowTasksBesideALargerTaskEqualNaiveAttention) {
  const Sequence s(37, 6, 2, 16, 300);
  const std::vector<int> queries = {36, 20, 0, 5, 30, 31, 32, 33, 34, 35};
  const std::vector<int32_t> pages(kScrambled.begin(), kScrambled.begin() + 10);
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    backend = make_cpu_backend(threads);
    KvLayer cache = make_cache(12, s.hkv, s.d);
    const auto slot = [&](int j) { return kScrambled[j / kPageSize] * kPageSize + j % kPageSize; };
    store(s, cache, slot, [](int j) { return j; });
    AttentionPlan plan;
    plan.page_size = kPageSize;
    plan.num_rows = static_cast<int>(queries.size());
    for (int r = 0; r < 4; ++r) plan.add_task({r}, pages, s.tokens, 0, 0, true);
    plan.add_task(iota(4, 10), pages, s.tokens, 0, 0, true);
    const auto got = run(std::vector<const Sequence*>(queries.size(), &s), queries, cache, plan);
    double worst = 0;
    for (size_t r = 0; r < queries.size(); ++r) {
      const auto want = naive_attention(s, queries[r]);
      for (size_t i = 0; i < want.size(); ++i) {
        worst = std::max(worst, std::fabs(got[r * want.size() + i] - want[i]));
      }
    }
    EXPECT_LT(worst, 2e-5) << threads << " threads";  // as the single causal task above
    if (first.empty()) first = got;
    EXPECT_EQ(got, first) << threads << " threads";
  }
}

TEST_F(AttentionTest, GqaMapsQueryHeadsToTheirKvHead) {
  // With v constant c_h on kv head h, every query head of group h outputs exactly c_h.
  Sequence s(9, 6, 3, 8, 200);
  for (int j = 0; j < s.tokens; ++j) {
    for (int h = 0; h < s.hkv; ++h) {
      for (int i = 0; i < s.d; ++i) s.v[(j * s.hkv + h) * s.d + i] = float(h + 1);
    }
  }
  KvLayer cache = make_cache(3, s.hkv, s.d);
  store(
      s, cache, [](int j) { return j; }, [](int j) { return j; });
  AttentionPlan plan;
  plan.page_size = kPageSize;
  plan.num_rows = 1;
  plan.add_task({0}, {0, 1, 2}, s.tokens, 0, 0, true);
  const auto got = run({&s}, {8}, cache, plan);
  for (int h = 0; h < s.hq; ++h) {
    for (int i = 0; i < s.d; ++i) EXPECT_NEAR(got[h * s.d + i], float(h / 2 + 1), 1e-6) << h;
  }
}

TEST_F(AttentionTest, SplitTasksMergeToTheSingleTask) {
  // Chunked prefill of tokens [24, 37) over a 24-token history: one task over everything
  // versus two non-causal prefix tasks + two causal own tasks (the first rows see nothing
  // in the last task, so that partial state is empty and must not disturb the merge).
  const Sequence s(37, 4, 2, 16, 300);
  KvLayer cache = make_cache(12, s.hkv, s.d);
  const auto slot = [&](int j) { return kScrambled[j / kPageSize] * kPageSize + j % kPageSize; };
  store(s, cache, slot, [](int j) { return j; });
  const auto pages = [&](int first, int last) {
    return std::vector<int32_t>(kScrambled.begin() + first, kScrambled.begin() + last);
  };
  const std::vector<int32_t> query_ids = iota(24, 37);
  const std::vector<int> queries(query_ids.begin(), query_ids.end());
  const std::vector<const Sequence*> seqs(queries.size(), &s);
  const int rows = int(queries.size());

  AttentionPlan single;
  single.page_size = kPageSize;
  single.num_rows = rows;
  single.add_task(iota(0, rows), pages(0, 10), 37, 0, 0, true);
  const auto want = run(seqs, queries, cache, single);

  AttentionPlan split;
  split.page_size = kPageSize;
  split.num_rows = rows;
  split.add_task(iota(0, rows), pages(0, 4), 16, 0, 0, false);
  split.add_task(iota(0, rows), pages(4, 6), 8, 16, 0, false);
  split.add_task(iota(0, rows), pages(6, 8), 8, 24, 0, true);
  split.add_task(iota(0, rows), pages(8, 10), 5, 32, 0, true);
  const auto got = run(seqs, queries, cache, split);
  for (float x : got) ASSERT_TRUE(std::isfinite(x));
  EXPECT_LT(max_abs_diff(got, want), 1e-5);

  // And the single task itself is naive attention.
  for (int r = 0; r < rows; ++r) {
    const auto naive = naive_attention(s, queries[r]);
    for (size_t i = 0; i < naive.size(); ++i) {
      EXPECT_NEAR(want[r * naive.size() + i], naive[i], 2e-5);
    }
  }
}

TEST_F(AttentionTest, MergeDoesNotDependOnTaskOrderGroupingOrAnEmptyTask) {
  // The same KV cut into tasks in different orders and groupings, with an empty task
  // (a level of no tokens) among them: every merge gives the same rows.
  const Sequence s(29, 4, 2, 16, 700);
  KvLayer cache = make_cache(12, s.hkv, s.d);
  const auto slot = [&](int j) { return kScrambled[j / kPageSize] * kPageSize + j % kPageSize; };
  store(s, cache, slot, [](int j) { return j; });
  const auto pages = [&](int first, int last) {
    return std::vector<int32_t>(kScrambled.begin() + first, kScrambled.begin() + last);
  };
  const std::vector<int> queries = {20, 24, 28};
  const std::vector<const Sequence*> seqs(queries.size(), &s);
  const int rows = int(queries.size());
  struct Piece {
    int first_page, last_page, length, first_position;
    bool causal;
  };
  const std::vector<Piece> pieces = {
      {0, 2, 8, 0, false}, {2, 3, 4, 8, false}, {3, 5, 8, 12, false}, {5, 8, 9, 20, true}};
  const auto plan_of = [&](const std::vector<int>& order, bool with_empty) {
    AttentionPlan plan;
    plan.page_size = kPageSize;
    plan.num_rows = rows;
    if (with_empty) plan.add_task(iota(0, rows), {}, 0, 0, 0, false);
    for (int i : order) {
      const Piece& p = pieces[size_t(i)];
      plan.add_task(iota(0, rows), pages(p.first_page, p.last_page), p.length, p.first_position, 0,
                    p.causal);
    }
    return plan;
  };
  AttentionPlan forward = plan_of({0, 1, 2, 3}, false);
  const auto want = run(seqs, queries, cache, forward);
  for (const auto& order : std::vector<std::vector<int>>{{3, 2, 1, 0}, {2, 0, 3, 1}}) {
    for (bool with_empty : {false, true}) {
      AttentionPlan plan = plan_of(order, with_empty);
      const auto got = run(seqs, queries, cache, plan);
      // Only the summation order differs: fp32 rounding of O(1) values.
      EXPECT_LT(max_abs_diff(got, want), 1e-6) << "empty task " << with_empty;
    }
  }
  // Grouping: one query row per task instead of all rows in each.
  AttentionPlan per_row;
  per_row.page_size = kPageSize;
  per_row.num_rows = rows;
  for (int r = rows - 1; r >= 0; --r) {
    for (const Piece& p : pieces) {
      per_row.add_task({r}, pages(p.first_page, p.last_page), p.length, p.first_position, 0,
                       p.causal);
    }
  }
  EXPECT_LT(max_abs_diff(run(seqs, queries, cache, per_row), want), 1e-6);
  for (int r = 0; r < rows; ++r) {  // and it is attention
    const auto naive = naive_attention(s, queries[size_t(r)]);
    for (size_t i = 0; i < naive.size(); ++i)
      EXPECT_NEAR(want[r * naive.size() + i], naive[i], 2e-5);
  }
}

// Token data of several pieces one after the other (a prompt laid out logically).
Sequence concat(const std::vector<const Sequence*>& pieces) {
  int n = 0;
  for (const Sequence* p : pieces) n += p->tokens;
  Sequence out(n, pieces[0]->hq, pieces[0]->hkv, pieces[0]->d, 0);
  out.q.clear(), out.k.clear(), out.v.clear();
  for (const Sequence* p : pieces) {
    out.q.insert(out.q.end(), p->q.begin(), p->q.end());
    out.k.insert(out.k.end(), p->k.begin(), p->k.end());
    out.v.insert(out.v.end(), p->v.begin(), p->v.end());
  }
  return out;
}

TEST_F(AttentionTest, CompositionalChunksEqualExplicitReRotationWithABlockMask) {
  // A system chunk S and documents A, B, C cached once at canonical positions (right after
  // S), used by two prompts in different orders, plus a fill of A (its own rows, which see
  // S and A only: no sibling). Planned by the cascade planner with shared levels; the
  // reference places each chunk's keys at its logical position and attends naively.
  const int hq = 4, hkv = 2, d = 16;
  const Sequence S(6, hq, hkv, d, 800), A(9, hq, hkv, d, 810), B(5, hq, hkv, d, 820),
      C(7, hq, hkv, d, 830), own1(4, hq, hkv, d, 840), own2(3, hq, hkv, d, 850);
  KvLayer cache = make_cache(16, hkv, d);
  // Pages: S 0-1, A 2-4, B 5-6, C 7-8, own1 9, own2 10 (each piece starts a page).
  const auto stored = [&](const Sequence& s, int first_page, int first_position) {
    store(
        s, cache, [&](int j) { return first_page * kPageSize + j; },
        [&](int j) { return first_position + j; });
  };
  stored(S, 0, 0);
  stored(A, 2, 6);
  stored(B, 5, 6);
  stored(C, 7, 6);
  // Prompt 1 = S B C A own1; prompt 2 = S A B own2 (own tokens at logical positions).
  stored(own1, 9, 6 + 5 + 7 + 9);
  stored(own2, 10, 6 + 9 + 5);
  const auto level = [](int64_t id, std::vector<int32_t> pages, int length, int logical,
                        int canonical) {
    return PlanLevel{id, std::move(pages), length, logical, logical - canonical, false};
  };
  PlanSequence p1{{0, 1, 2, 3},
                  {level(0, {0, 1}, 6, 0, 0), level(2, {5, 6}, 5, 6, 6), level(3, {7, 8}, 7, 11, 6),
                   level(1, {2, 3, 4}, 9, 18, 6), PlanLevel{-1, {9}, 4, 27, 0, true}}};
  PlanSequence p2{{4, 5, 6},
                  {level(0, {0, 1}, 6, 0, 0), level(1, {2, 3, 4}, 9, 6, 6),
                   level(2, {5, 6}, 5, 15, 6), PlanLevel{-1, {10}, 3, 20, 0, true}}};
  PlanSequence fill{{7, 8}, {level(0, {0, 1}, 6, 0, 0), PlanLevel{-1, {2, 3, 4}, 9, 6, 0, true}}};
  PlannerOptions options;
  options.page_size = kPageSize;
  AttentionPlan plan = plan_attention({p1, p2, fill}, 9, options);
  // 11 levels; S (same pages, delta 0 everywhere) is one task for all three: 9 tasks.
  ASSERT_EQ(plan.num_tasks(), 9);

  // Query rows: own1's 4 tokens, own2's 3, and A's tokens 2 and 8 (the fill).
  const Sequence logical1 = concat({&S, &B, &C, &A, &own1});
  const Sequence logical2 = concat({&S, &A, &B, &own2});
  const Sequence canonical_a = concat({&S, &A});
  const std::vector<const Sequence*> seqs = {&logical1, &logical1,    &logical1,
                                             &logical1, &logical2,    &logical2,
                                             &logical2, &canonical_a, &canonical_a};
  const std::vector<int> queries = {27, 28, 29, 30, 20, 21, 22, 8, 14};
  const auto got = run(seqs, queries, cache, plan);
  double err = 0, scale = 0;
  for (size_t r = 0; r < queries.size(); ++r) {
    const auto want = naive_attention(*seqs[r], queries[r]);
    for (size_t i = 0; i < want.size(); ++i) {
      err = std::max(err, std::fabs(got[r * want.size() + i] - want[i]));
      scale = std::max(scale, std::fabs(want[i]));
    }
  }
  EXPECT_LT(err / scale, 1e-5);
  // Without the rotation by rope_delta the result is visibly different.
  AttentionPlan unrotated = plan;
  std::fill(unrotated.rope_delta.begin(), unrotated.rope_delta.end(), 0);
  const auto wrong = run(seqs, queries, cache, unrotated);
  EXPECT_GT(max_abs_diff(wrong, got), 1e-2);
}

TEST_F(AttentionTest, RopeDeltaEqualsKeysStoredAtShiftedPositions) {
  // Keys rotated at their canonical positions j - delta and queries rotated at m - delta
  // see the same position differences as keys at j and queries at m.
  const Sequence s(21, 4, 2, 16, 400);
  const std::vector<int> queries = {0, 7, 20};
  const std::vector<const Sequence*> seqs(queries.size(), &s);
  const int rows = int(queries.size());
  const auto plan_with = [&](int delta) {
    AttentionPlan plan;
    plan.page_size = kPageSize;
    plan.num_rows = rows;
    // One non-causal task over the first 8 tokens, one causal task over the rest.
    plan.add_task(iota(0, rows), {0, 1}, 8, 0, delta, false);
    plan.add_task(iota(0, rows), {2, 3, 4, 5}, 13, 8, delta, true);
    return plan;
  };
  KvLayer base = make_cache(6, s.hkv, s.d);
  store(
      s, base, [](int j) { return j; }, [](int j) { return j; });
  AttentionPlan base_plan = plan_with(0);
  const auto want = run(seqs, queries, base, base_plan);
  for (int delta : {5, -5, 300, -300}) {
    KvLayer shifted = make_cache(6, s.hkv, s.d);
    store(
        s, shifted, [](int j) { return j; }, [&](int j) { return j - delta; });
    AttentionPlan plan = plan_with(delta);
    const auto got = run(seqs, queries, shifted, plan);
    // f32 RoPE angles at positions up to ~320 are off by up to 320 · 2^-24 rad: ~2e-5.
    EXPECT_LT(max_abs_diff(got, want), 1e-4) << "delta " << delta;
  }
  // A wrong delta is visibly wrong (the test can fail).
  KvLayer shifted = make_cache(6, s.hkv, s.d);
  store(
      s, shifted, [](int j) { return j; }, [](int j) { return j - 5; });
  AttentionPlan wrong = plan_with(0);
  EXPECT_GT(max_abs_diff(run(seqs, queries, shifted, wrong), want), 1e-2);
}

TEST_F(AttentionTest, BatchWithSharedPrefixTaskEqualsEachSequenceAlone) {
  // Two sequences share their first 8 tokens (one prefix task for both) and each has
  // its own causal task: each row equals naive attention over its own sequence.
  Sequence a(14, 4, 2, 8, 500), b(11, 4, 2, 8, 600);
  for (int j = 0; j < 8; ++j) {  // b's first 8 tokens are a's
    std::copy_n(a.k.begin() + j * a.hkv * a.d, a.hkv * a.d, b.k.begin() + j * b.hkv * b.d);
    std::copy_n(a.v.begin() + j * a.hkv * a.d, a.hkv * a.d, b.v.begin() + j * b.hkv * b.d);
  }
  KvLayer cache = make_cache(8, a.hkv, a.d);
  // Prefix in pages 0-1; a's own tokens in pages 2-3; b's in pages 5, 4.
  store(
      a, cache, [](int j) { return j; }, [](int j) { return j; });
  const auto b_slot = [](int j) { return j < 8 ? j : (j < 12 ? 20 + j - 8 : 16 + j - 12); };
  store(b, cache, b_slot, [](int j) { return j; });
  const std::vector<const Sequence*> seqs = {&a, &a, &b, &b};
  const std::vector<int> queries = {9, 13, 8, 10};
  AttentionPlan plan;
  plan.page_size = kPageSize;
  plan.num_rows = 4;
  plan.add_task({0, 1, 2, 3}, {0, 1}, 8, 0, 0, false);
  plan.add_task({0, 1}, {2, 3}, 6, 8, 0, true);
  plan.add_task({2, 3}, {5}, 3, 8, 0, true);
  const auto got = run(seqs, queries, cache, plan);
  for (int r = 0; r < 4; ++r) {
    const auto want = naive_attention(*seqs[r], queries[r]);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[r * want.size() + i], want[i], 2e-5) << "row " << r;
    }
  }
}

TEST_F(AttentionTest, RowThatSeesNoKeysOutputsZeros) {
  const Sequence s(8, 2, 1, 8, 700);
  KvLayer cache = make_cache(2, s.hkv, s.d);
  store(
      s, cache, [](int j) { return j; }, [](int j) { return j; });
  AttentionPlan plan;
  plan.page_size = kPageSize;
  plan.num_rows = 1;
  plan.add_task({0}, {1}, 4, 4, 0, true);  // query at position 2 sees none of 4..7
  for (float x : run({&s}, {2}, cache, plan)) EXPECT_EQ(x, 0.0f);
}

TEST_F(AttentionTest, RowsPastThePlanArePaddingWithZeros) {
  // A step padded to a fixed size (a recorded graph's bucket): q has 4 rows, the plan 2.
  const Sequence s(8, 2, 1, 8, 750);
  KvLayer cache = make_cache(2, s.hkv, s.d);
  store(
      s, cache, [](int j) { return j; }, [](int j) { return j; });
  AttentionPlan plan;
  plan.page_size = kPageSize;
  plan.num_rows = 2;
  plan.add_task({0, 1}, {0, 1}, 8, 0, 0, true);
  const auto got = run({&s, &s, &s, &s}, {5, 7, 6, 6}, cache, plan);
  const size_t row = static_cast<size_t>(s.hq * s.d);
  const auto want = naive_attention(s, 7);
  for (size_t i = 0; i < row; ++i) EXPECT_NEAR(got[row + i], want[i], 2e-5);
  for (size_t i = 2 * row; i < 4 * row; ++i) EXPECT_EQ(got[i], 0.0f) << "padding";
  plan.num_rows = 5;  // more plan rows than q rows
  EXPECT_THROW(run({&s, &s, &s, &s}, {5, 7, 6, 6}, cache, plan), Error);
}

TEST_F(AttentionTest, ResultsDoNotDependOnThreadCount) {
  const Sequence s(29, 4, 2, 16, 800);
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    backend = make_cpu_backend(threads);
    KvLayer cache = make_cache(8, s.hkv, s.d);
    store(
        s, cache, [](int j) { return j; }, [](int j) { return j; });
    AttentionPlan plan;
    plan.page_size = kPageSize;
    plan.num_rows = s.tokens;
    plan.add_task(iota(0, s.tokens), {0, 1, 2}, 12, 0, 0, false);
    plan.add_task(iota(0, s.tokens), {3, 4, 5, 6, 7}, 17, 12, 0, true);
    const auto got =
        run(std::vector<const Sequence*>(s.tokens, &s), iota(0, s.tokens), cache, plan);
    if (first.empty()) first = got;
    EXPECT_EQ(got, first) << threads << " threads";
  }
}

}  // namespace
}  // namespace cascade

#include "cache/cascade_planner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/backend.h"

namespace cascade {
namespace {

PlanLevel level(int64_t id, std::vector<int32_t> pages, int32_t length, int32_t first,
                int32_t delta = 0, bool causal = false) {
  return PlanLevel{id, std::move(pages), length, first, delta, causal};
}

// Three decoding sequences: a shared 10-token system prefix (pages {0}), a shared
// 50-token chunk (pages {1..4}) that sequence 2 places at another offset (delta 7), and
// own tokens. Rows: one per sequence.
std::vector<PlanSequence> three_sequences() {
  std::vector<PlanSequence> s(3);
  for (int i = 0; i < 3; ++i) {
    s[static_cast<size_t>(i)].rows = {i};
    s[static_cast<size_t>(i)].levels.push_back(level(100, {0}, 10, 0));
  }
  s[0].levels.push_back(level(200, {1, 2, 3, 4}, 50, 10));
  s[1].levels.push_back(level(200, {1, 2, 3, 4}, 50, 10));
  s[2].levels.push_back(level(200, {1, 2, 3, 4}, 50, 17, 7));
  s[0].levels.push_back(level(-1, {5, 6}, 20, 60, 0, true));
  s[1].levels.push_back(level(-1, {7}, 5, 60, 0, true));
  s[2].levels.push_back(level(-1, {8, 9}, 30, 67, 0, true));
  return s;
}

int count_tasks_with_rows(const AttentionPlan& plan, size_t rows) {
  int n = 0;
  for (int t = 0; t < plan.num_tasks(); ++t) {
    n += static_cast<size_t>(plan.row_begin[static_cast<size_t>(t) + 1] -
                             plan.row_begin[static_cast<size_t>(t)]) == rows;
  }
  return n;
}

TEST(CascadePlanner, SharedLevelsBecomeOneTaskPerContentAndDelta) {
  PlannerOptions o;
  const auto plan = plan_attention(three_sequences(), 3, o);
  // system prefix: 1 task for 3 rows; chunk: 1 task for rows {0,1} (delta 0) and sequence
  // 2's copy alone (delta 7, used once); 3 own tasks.
  EXPECT_EQ(plan.num_tasks(), 6);
  EXPECT_EQ(count_tasks_with_rows(plan, 3), 1);
  EXPECT_EQ(count_tasks_with_rows(plan, 2), 1);
  EXPECT_EQ(count_tasks_with_rows(plan, 1), 4);
  int causal = 0;
  for (uint8_t c : plan.causal) causal += c;
  EXPECT_EQ(causal, 3);
}

TEST(CascadePlanner, CascadeOffGivesEverySequenceItsOwnTasks) {
  PlannerOptions o;
  o.enable_cascade = false;
  const auto plan = plan_attention(three_sequences(), 3, o);
  EXPECT_EQ(plan.num_tasks(), 9);
  EXPECT_EQ(count_tasks_with_rows(plan, 1), 9);
}

TEST(CascadePlanner, ShortLevelsAndLevelsPastTheLimitStayPrivate) {
  PlannerOptions o;
  o.min_shared_tokens = 20;  // the 10-token system prefix is too short to share
  auto plan = plan_attention(three_sequences(), 3, o);
  EXPECT_EQ(count_tasks_with_rows(plan, 3), 0);
  EXPECT_EQ(count_tasks_with_rows(plan, 2), 1);
  o.min_shared_tokens = 0;
  o.max_cascade_levels = 1;  // only the first level of each sequence may be shared
  plan = plan_attention(three_sequences(), 3, o);
  EXPECT_EQ(count_tasks_with_rows(plan, 3), 1);
  EXPECT_EQ(count_tasks_with_rows(plan, 2), 0);
}

// Eight shared chunks, as B2 composes them: with the default bound every one of them is a
// shared task (the seed's bound of 3 left five read once per sequence).
TEST(CascadePlanner, DefaultBoundSharesEightChunks) {
  std::vector<PlanSequence> s(4);
  for (int i = 0; i < 4; ++i) {
    auto& seq = s[static_cast<size_t>(i)];
    seq.rows = {i};
    for (int c = 0; c < 8; ++c) seq.levels.push_back(level(100 + c, {c}, 16, 16 * c));
    seq.levels.push_back(level(-1, {8 + i}, 5, 128, 0, true));
  }
  const auto plan = plan_attention(s, 4, PlannerOptions{});
  EXPECT_EQ(count_tasks_with_rows(plan, 4), 8);
  EXPECT_EQ(count_tasks_with_rows(plan, 1), 4);
}

// Backends derive kernel work from a plan once per id: every finalize() gives a new id,
// and a task added afterwards clears it (0: derive again).
TEST(CascadePlanner, PlanIdsAreUniquePerFinalize) {
  const auto a = plan_attention(three_sequences(), 3, PlannerOptions{});
  const auto b = plan_attention(three_sequences(), 3, PlannerOptions{});
  EXPECT_NE(a.id, 0u);
  EXPECT_NE(b.id, 0u);
  EXPECT_NE(a.id, b.id);
  auto c = a;
  EXPECT_EQ(c.id, a.id);
  c.add_task({0}, {0}, 1, 0, 0, false);
  EXPECT_EQ(c.id, 0u);
  c.finalize();
  EXPECT_NE(c.id, 0u);
  EXPECT_NE(c.id, a.id);
}

TEST(CascadePlanner, LongLevelsAreSplitOnPageBoundaries) {
  PlannerOptions o;
  o.page_size = 16;
  o.max_task_tokens = 20;  // pieces of 16 tokens
  const auto plan = plan_attention(three_sequences(), 3, o);
  // chunk of 50 tokens -> 16+16+16+2 for the shared pair and again for sequence 2.
  int pieces_of_chunk = 0;
  for (int t = 0; t < plan.num_tasks(); ++t) {
    if (!plan.causal[static_cast<size_t>(t)] && plan.kv_pos0[static_cast<size_t>(t)] >= 10)
      ++pieces_of_chunk;
  }
  EXPECT_EQ(pieces_of_chunk, 8);
}

// The numbers: cascade on, off and split must give the same attention output.
TEST(CascadePlanner, CascadeSplitAndFlatPlansComputeTheSameAttention) {
  constexpr int kPageSize = 16, kPages = 10, kHq = 4, kHkv = 2, kDim = 16;
  auto backend = make_cpu_backend(2);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  const auto random_tensor = [&](Shape shape) {
    std::vector<float> host(static_cast<size_t>(shape_numel(shape)));
    for (float& x : host) x = normal(rng);
    return backend->upload(host.data(), DType::F32, shape);
  };
  KvLayer kv{random_tensor({kPages, kPageSize, kHkv, kDim}),
             random_tensor({kPages, kPageSize, kHkv, kDim})};
  const Tensor q = random_tensor({3, kHq, kDim});
  const std::vector<int32_t> positions = {79, 64, 96};  // each sequence's last own token
  const Tensor pos = backend->upload_i32(positions.data(), {3});
  const RopeParams rope{10000.0, kDim};
  const auto attend = [&](const PlannerOptions& o) {
    Tensor out = backend->allocate(DType::F32, {3, kHq, kDim});
    backend->attention(q, pos, kv, plan_attention(three_sequences(), 3, o), rope, out);
    std::vector<float> host(static_cast<size_t>(out.numel()));
    backend->download_f32(out, host.data());
    return host;
  };
  PlannerOptions flat;
  flat.enable_cascade = false;
  PlannerOptions split;
  split.max_task_tokens = 16;
  const auto want = attend(flat);
  for (const auto& got : {attend(PlannerOptions{}), attend(split)}) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      err = std::max(err, static_cast<double>(std::fabs(got[i] - want[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
    }
    EXPECT_LT(err / scale, 1e-5);
  }
}

}  // namespace
}  // namespace cascade

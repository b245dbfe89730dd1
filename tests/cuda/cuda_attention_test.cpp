// CUDA attention (task kernels + merge) against the CPU backend on the same bf16 inputs:
// the GPU's cache (written by its qkv_store, unwritten slots NaN) is copied into the CPU's,
// so both attend over identical keys and values. Plans cover prefill and decode, partial
// pages, scrambled pages, long tasks split into KV chunks, rows in several tasks with
// different rope_delta (shared chunk levels), causal and non-causal tasks, empty tasks,
// GQA groups 1, 2, 4, 7, 8, head_dim 16, 32, 64, 128 and page sizes 16 and 32. The tests
// with large tiles run on the mma.sync kernel (CudaAttentionTest) and again on the wgmma
// kernel (CudaAttentionWgmmaTest, where available: K and V by the copy engine; and
// CudaAttentionWgmmaCopiesTest: by every thread's cp.async) and its pipelined variant
// (CudaAttentionWgmmaPipelinedTest; CudaAttentionWgmmaPipelinedCopiesTest with cp.async)
// and warp-specialized variant (CudaAttentionWgmmaWsTest,
// CudaAttentionWgmmaWsCopiesTest with cp.async instead of the copy engine, and
// CudaAttentionWgmmaWsFewBlocksTest with many items per block).
//
// Bound: the output is rounded to bf16 (2^-8 of the largest value at most); scores and
// probabilities stay fp32 in fp32 arithmetic of another order, so
// max |diff| / max |ref| <= 1e-2 leaves room for rounding, not for a wrong mask, position
// or weight (those move the output by tens of percent).
#include <cstdlib>
#include <numeric>
#include <string>

#include "cuda_test_util.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_variant.h"
#include "ops/cuda/cuda_backend.h"

namespace cascade::test {
namespace {

struct Layout {
  int hq, hkv, d, page_size;
};

// A run of KV tokens in pages of the pool, keys rotated at [pos0, pos0 + len).
struct KvRun {
  std::vector<int32_t> pages;
  int len = 0;
  int pos0 = 0;
};

struct TaskSpec {
  std::vector<int32_t> rows;
  int run;
  int kv_pos0;
  int delta;
  bool causal;
};

class CudaAttentionTest : public CudaBackendTest {
 protected:
  void SetUp() override {
    CudaBackendTest::SetUp();
    if (IsSkipped()) return;
    wgmma_before_ = cuda::attention_wgmma_enabled();
    ws_min_rows_before_ = cuda::attention_wgmma_ws_min_rows();
    cuda::set_attention_wgmma(false);
    cuda::set_attention_wgmma_ws_min_rows(-1);
  }
  void TearDown() override {
    if (wgmma_before_) cuda::set_attention_wgmma(true);
    cuda::set_attention_wgmma_ws_min_rows(ws_min_rows_before_);
  }

  // Fills the GPU cache with each run's K/V through qkv_store, then mirrors it on the CPU.
  void build_cache(const Layout& L, int num_pages, std::vector<KvRun>& runs, uint32_t seed) {
    const Shape shape = {num_pages, L.page_size, L.hkv, L.d};
    const auto poison = nan_values(static_cast<size_t>(shape_numel(shape)));
    gpu_cache = {gpu->upload(poison.data(), DType::F32, shape),
                 gpu->upload(poison.data(), DType::F32, shape)};
    std::vector<int32_t> free_pages(static_cast<size_t>(num_pages));
    std::iota(free_pages.begin(), free_pages.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(free_pages.begin(), free_pages.end(), rng);
    size_t next = 0;
    const int width = (L.hq + 2 * L.hkv) * L.d;
    for (KvRun& run : runs) {
      const int n_pages = (run.len + L.page_size - 1) / L.page_size;
      run.pages.assign(free_pages.begin() + next, free_pages.begin() + next + n_pages);
      next += n_pages;
      if (run.len == 0) continue;
      const auto qkv = random_bf16_values(size_t(run.len) * width, seed++);
      std::vector<int32_t> positions(static_cast<size_t>(run.len)), slots(positions.size());
      for (int j = 0; j < run.len; ++j) {
        positions[j] = run.pos0 + j;
        slots[j] = run.pages[j / L.page_size] * L.page_size + j % L.page_size;
      }
      Tensor q = gpu->allocate(DType::BF16, {run.len, L.hq, L.d});
      gpu->qkv_store(gpu->upload(qkv.data(), DType::F32, {run.len, width}), Tensor{}, Tensor{},
                     1e-6f, gpu->upload_i32(positions.data(), {run.len}),
                     gpu->upload_i32(slots.data(), {run.len}), RopeParams{kTheta, L.d}, q,
                     gpu_cache);
    }
    ASSERT_LE(next, free_pages.size());
    auto k = host(*gpu, gpu_cache.k), v = host(*gpu, gpu_cache.v);
    for (float& x : k) x = std::isnan(x) ? 0.0f : x;  // the oracle need not see the poison
    for (float& x : v) x = std::isnan(x) ? 0.0f : x;
    cpu_cache = {cpu->upload(k.data(), DType::F32, shape),
                 cpu->upload(v.data(), DType::F32, shape)};
  }

  // Runs the plan on both backends; returns max |diff| / max |ref|. `padding` rows past
  // the plan's pad q (as in a recorded step): their output must be zeros.
  double compare(const Layout& L, const std::vector<KvRun>& runs,
                 const std::vector<TaskSpec>& tasks, std::vector<int32_t> positions, uint32_t seed,
                 int padding = 0) {
    AttentionPlan plan;
    plan.page_size = L.page_size;
    plan.num_rows = static_cast<int>(positions.size());
    positions.resize(positions.size() + static_cast<size_t>(padding), 0);
    const int rows = static_cast<int>(positions.size());
    for (const TaskSpec& t : tasks) {
      const KvRun& run = runs[static_cast<size_t>(t.run)];
      plan.add_task(t.rows, run.pages, run.len, t.kv_pos0, t.delta, t.causal);
    }
    plan.finalize();
    const auto q = both(random_bf16_values(size_t(rows) * L.hq * L.d, seed), {rows, L.hq, L.d});
    const auto pos = both_i32(positions, {rows});
    auto out = outputs({rows, L.hq, L.d});
    const RopeParams rope{kTheta, L.d};
    cpu->attention(q.cpu, pos.cpu, cpu_cache, plan, rope, out.cpu);
    gpu->attention(q.gpu, pos.gpu, gpu_cache, plan, rope, out.gpu);
    return relative_error(host(*gpu, out.gpu), host(*cpu, out.cpu));
  }

  // Decode: one row per sequence of `lengths` tokens (keys at positions from
  // `first_position`), at its last position (a causal task over the sequence's own pages),
  // plus `padding` rows; returns compare()'s error.
  double compare_decode(const Layout& L, const std::vector<int>& lengths, int num_pages,
                        uint32_t cache_seed, uint32_t q_seed, int padding = 0,
                        int first_position = 0) {
    std::vector<KvRun> runs;
    for (int n : lengths) runs.push_back({{}, n, first_position});
    build_cache(L, num_pages, runs, cache_seed);
    std::vector<TaskSpec> tasks;
    std::vector<int32_t> positions;
    for (int s = 0; s < static_cast<int>(runs.size()); ++s) {
      tasks.push_back({{s}, s, first_position, 0, true});
      positions.push_back(first_position + runs[s].len - 1);
    }
    return compare(L, runs, tasks, positions, q_seed, padding);
  }

  // The checks of the tests below that have large tiles (both kernels run them).
  void check_prefill_causal_tasks();
  void check_shared_levels();
  void check_long_shared_level();
  void check_chunked_prefill();
  void check_decode_rows(const std::string& label);
  void check_positions_around_rope_table_end();

  static constexpr double kTheta = 1000000.0;
  static constexpr double kBound = 1e-2;
  KvLayer gpu_cache, cpu_cache;

 private:
  bool wgmma_before_ = false;  // the process's choices, restored after each test
  int ws_min_rows_before_ = -1;
};

// The same checks with the large tiles on the wgmma kernel (builds for sm_90a).
class CudaAttentionWgmmaTest : public CudaAttentionTest {
 protected:
  void SetUp() override {
    CudaAttentionTest::SetUp();
    if (IsSkipped()) return;
    if (!cuda::attention_wgmma_available()) GTEST_SKIP() << "built without sm_90a";
    cuda::set_attention_wgmma(true);
    cuda::set_attention_wgmma_pipelined(false);
  }
};

// The wgmma kernel with every thread copying K and V (cp.async), as for page sizes that are
// not multiples of 16, instead of the copy engine.
class CudaAttentionWgmmaCopiesTest : public CudaAttentionWgmmaTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_tma(false);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_tma(true);
    CudaAttentionWgmmaTest::TearDown();
  }
};

// And on its pipelined variant (each block's softmax overlapping the previous P · V), K
// and V by the copy engine in three stages.
class CudaAttentionWgmmaPipelinedTest : public CudaAttentionWgmmaTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_pipelined(true);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_pipelined(false);
    CudaAttentionWgmmaTest::TearDown();
  }
};

// The pipelined variant with every thread copying K and V (cp.async) in two stages.
class CudaAttentionWgmmaPipelinedCopiesTest : public CudaAttentionWgmmaPipelinedTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaPipelinedTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_tma(false);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_tma(true);
    CudaAttentionWgmmaPipelinedTest::TearDown();
  }
};

// And on the warp-specialized kernel (tiles of 128 rows, one warpgroup copying for two).
class CudaAttentionWgmmaWsTest : public CudaAttentionWgmmaTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_ws_min_rows(0);
  }
};

// The warp-specialized kernel with its copying warpgroup's cp.async instead of the copy
// engine.
class CudaAttentionWgmmaWsCopiesTest : public CudaAttentionWgmmaWsTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaWsTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_tma(false);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_tma(true);
    CudaAttentionWgmmaWsTest::TearDown();
  }
};

// And with two blocks per kv head, so that every block runs many items in turn (the
// kernel's rings carry on from one item to the next).
class CudaAttentionWgmmaWsFewBlocksTest : public CudaAttentionWgmmaWsTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaWsTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_ws_blocks_per_head(2);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_ws_blocks_per_head(0);
    CudaAttentionWgmmaWsTest::TearDown();
  }
};

// And with its two computing warpgroups taking turns at the tensor cores (ping-pong), on
// two blocks per kv head, so that the turns carry on from one item to the next.
class CudaAttentionWgmmaWsPingPongTest : public CudaAttentionWgmmaWsFewBlocksTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaWsFewBlocksTest::SetUp();
    if (IsSkipped()) return;
    cuda::set_attention_wgmma_ws_pingpong(true);
  }
  void TearDown() override {
    cuda::set_attention_wgmma_ws_pingpong(false);
    CudaAttentionWgmmaWsFewBlocksTest::TearDown();
  }
};

const std::vector<Layout> kLayouts = {{16, 8, 128, 16}, {14, 2, 64, 16}, {4, 2, 32, 32},
                                      {8, 8, 64, 16},   {8, 1, 128, 32}, {4, 1, 16, 16}};

std::string name(const Layout& L) {
  return "hq " + std::to_string(L.hq) + " hkv " + std::to_string(L.hkv) + " d " +
         std::to_string(L.d) + " page " + std::to_string(L.page_size);
}

// 600 decode rows of 1 to 90 tokens: enough blocks without a split.
std::vector<int> many_short_lengths() {
  std::vector<int> lengths;
  for (int s = 0; s < 600; ++s) lengths.push_back(1 + (s * 37) % 90);
  return lengths;
}

std::vector<int32_t> iota_rows(int begin, int end) {
  std::vector<int32_t> v(static_cast<size_t>(end - begin));
  std::iota(v.begin(), v.end(), begin);
  return v;
}

// Prefill: every token of each sequence is a row of one causal task over its own pages
// (lengths with partial last pages).
void CudaAttentionTest::check_prefill_causal_tasks() {
  for (const Layout& L : kLayouts) {
    std::vector<KvRun> runs = {{{}, 37, 0}, {{}, 16, 0}, {{}, 5, 0}, {{}, 130, 0}};
    build_cache(L, 20, runs, 100);
    std::vector<TaskSpec> tasks;
    std::vector<int32_t> positions;
    for (int s = 0; s < static_cast<int>(runs.size()); ++s) {
      const int first = static_cast<int>(positions.size());
      for (int j = 0; j < runs[s].len; ++j) positions.push_back(j);
      tasks.push_back({iota_rows(first, first + runs[s].len), s, 0, 0, true});
    }
    const double err = compare(L, runs, tasks, positions, 7);
    report("attention prefill " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

TEST_F(CudaAttentionTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaCopiesTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaPipelinedTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaPipelinedCopiesTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaWsTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaWsCopiesTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaWsFewBlocksTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}
TEST_F(CudaAttentionWgmmaWsPingPongTest, PrefillCausalTasks) {
  check_prefill_causal_tasks();
}

// Decode: one row per sequence at its last position, short to long (split into KV chunks).
void CudaAttentionTest::check_decode_rows(const std::string& label) {
  for (const Layout& L : kLayouts) {
    const double err = compare_decode(L, {1, 17, 100, 333, 1000, 4097}, 400, 200, 8);
    report(label + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

TEST_F(CudaAttentionTest, DecodeRowsIncludingSplitKv) {
  check_decode_rows("attention decode ");
}

// Decode of a few short sequences with two padding rows (zeros), four ways: split into KV
// chunks, each task's chunks one cluster that merges its rows (the default); the same
// merged by the merge kernel (CASCADE_ATTENTION_CLUSTER_BLOCKS=0); unsplit on wide blocks
// (CASCADE_ATTENTION_WIDE_TOKENS), each row written by its one block; and split, each row
// merged by the block that writes its last part (CASCADE_ATTENTION_TASK_MERGE_PARTS).
TEST_F(CudaAttentionTest, FewShortDecodeRowsSplitUnsplitOrMergedInTheTaskKernel) {
  struct Switch {
    std::vector<std::pair<const char*, const char*>> variables;
    uint32_t wide_and_merge;  // bits 12-14 of graph_variant(): wide, then AttentionMerge
    uint32_t cluster_log2;    // bits 16-17
  };
  const std::vector<Switch> switches = {
      {{}, 3 << 1, 3},                                               // kCluster, 8 blocks
      {{{"CASCADE_ATTENTION_CLUSTER_BLOCKS", "2"}}, 3 << 1, 1},      // 2048 tokens in 2 chunks
      {{{"CASCADE_ATTENTION_CLUSTER_BLOCKS", "0"}}, 0, 0},           // the merge kernel
      {{{"CASCADE_ATTENTION_WIDE_TOKENS", "2048"}}, 1 | 1 << 1, 0},  // wide, kNone
      {{{"CASCADE_ATTENTION_CLUSTER_BLOCKS", "0"}, {"CASCADE_ATTENTION_TASK_MERGE_PARTS", "32"}},
       2 << 1,
       0}};  // kLastPart
  for (const Switch& sw : switches) {
    std::string label = "defaults";
    for (const auto& [variable, value] : sw.variables) {
      ::setenv(variable, value, 1);
      label = label == "defaults" ? "" : label + " ";
      label += std::string(variable) + "=" + value;
    }
    gpu = make_backend("cuda");  // reads the switches
    for (const auto& [variable, value] : sw.variables) ::unsetenv(variable);
    for (const Layout& L : kLayouts) {
      const double err = compare_decode(L, {1, 17, 100, 333, 1000, 2048}, 400, 250, 11, 2);
      report("attention decode " + label + " " + name(L), err);
      EXPECT_LE(err, kBound) << label << " " << name(L);
      EXPECT_EQ((gpu->graph_variant() >> 12) & 7u, sw.wide_and_merge) << label;
      EXPECT_EQ((gpu->graph_variant() >> 16) & 3u, sw.cluster_log2) << label;
    }
  }
}

// Many decode rows, enough blocks without a split: one part per row, written by the task
// kernel (no merge at all).
TEST_F(CudaAttentionTest, ManyDecodeRowsWithOnePartEachWriteTheOutputDirectly) {
  const std::vector<int> lengths = many_short_lengths();
  for (const Layout& L : kLayouts) {
    const double err = compare_decode(L, lengths, 4000, 260, 12, 3);
    report("attention decode 600 rows " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

// The CUDA-core scoring with a lane per key row (CASCADE_ATTENTION_KEY_LANES=1; the other
// tests here run the default, 8 lanes per key row on 4-row tiles at head sizes 64 and 128):
// decode rows split and unsplit, on narrow and on wide blocks; many short rows written
// without a merge; shared levels (small tiles of several rows beside large tiles).
TEST_F(CudaAttentionTest, KeysReadByOneLaneEachGiveTheSameAttention) {
  for (const char* wide_tokens : {"0", "2048"}) {
    ::setenv("CASCADE_ATTENTION_KEY_LANES", "1", 1);
    ::setenv("CASCADE_ATTENTION_WIDE_TOKENS", wide_tokens, 1);
    gpu = make_backend("cuda");  // reads the switches
    ::unsetenv("CASCADE_ATTENTION_WIDE_TOKENS");
    ::unsetenv("CASCADE_ATTENTION_KEY_LANES");
    for (const Layout& L : kLayouts) {
      const double err = compare_decode(L, {1, 17, 100, 333, 1000, 2048}, 400, 270, 13, 2);
      report(std::string("attention decode, 1 lane per key, wide tokens ") + wide_tokens + " " +
                 name(L),
             err);
      EXPECT_LE(err, kBound) << "wide tokens " << wide_tokens << " " << name(L);
    }
  }
  ::setenv("CASCADE_ATTENTION_KEY_LANES", "1", 1);
  gpu = make_backend("cuda");
  ::unsetenv("CASCADE_ATTENTION_KEY_LANES");
  const std::vector<int> lengths = many_short_lengths();
  for (const Layout& L : kLayouts) {
    const double err = compare_decode(L, lengths, 4000, 280, 14, 3);
    report("attention decode 600 rows, 1 lane per key " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
  check_shared_levels();
}

// Groups of 7 and 8 heads on 4-row tiles (CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS: a step of
// few decode rows cuts each 8-row tile in two; the second tile starts inside a sequence
// row's group of heads): few decode rows, split and unsplit, against the CPU.
TEST_F(CudaAttentionTest, FewRowsOfLargeGroupsOnFourRowTilesGiveTheSameAttention) {
  ::setenv("CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS", "100000", 1);
  gpu = make_backend("cuda");  // reads the switch
  ::unsetenv("CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS");
  for (const Layout& L : kLayouts) {
    for (const std::vector<int>& lengths :
         {std::vector<int>{45}, std::vector<int>{1, 17, 100, 333, 1000, 2048}}) {
      const double err = compare_decode(L, lengths, 400, 290, 15, 2);
      report("attention decode, large groups on 4-row tiles, " + std::to_string(lengths.size()) +
                 " rows " + name(L),
             err);
      EXPECT_LE(err, kBound) << lengths.size() << " rows " << name(L);
    }
  }
}

// Cascade: a system prefix (positions 0..11) and a document chunk computed after it
// (canonical positions 12..), shared by sequences that place the document at other
// offsets (rope_delta = offset - 12); each sequence's own tokens are a causal task with
// kv_pos0 past its chunks, with several prefill rows and a decode row; one row also sees
// an empty task.
void CudaAttentionTest::check_shared_levels() {
  for (const Layout& L : kLayouts) {
    const int prefix = 12, doc = 75;
    // runs: 0 prefix, 1 doc, 2 another doc (30 tokens), then each sequence's own tokens
    std::vector<KvRun> runs = {{{}, prefix, 0}, {{}, doc, prefix}, {{}, 30, prefix}, {{}, 9, 0},
                               {{}, 20, 0},     {{}, 1, 0},        {{}, 0, 0}};
    // Sequence 0: prefix, doc at 12 (delta 0), own 9 tokens at 87..95 (rows 0..8).
    // Sequence 1: prefix, doc2 at 12, doc at 42 (delta 30), own 20 tokens (rows 9..28).
    // Sequence 2: prefix, doc2 at 12, doc at 42 (delta 30), own 1 token (row 29).
    const int own0 = prefix + doc, own1 = prefix + 30 + doc;
    for (int s = 3; s <= 5; ++s) runs[s].pos0 = s == 3 ? own0 : own1;
    build_cache(L, 30, runs, 300);
    std::vector<int32_t> positions;
    for (int j = 0; j < 9; ++j) positions.push_back(own0 + j);
    for (int j = 0; j < 20; ++j) positions.push_back(own1 + j);
    positions.push_back(own1);
    const std::vector<int32_t> seq0 = iota_rows(0, 9), seq1 = iota_rows(9, 29), seq2 = {29};
    const std::vector<int32_t> all = iota_rows(0, 30), seq12 = iota_rows(9, 30);
    std::vector<TaskSpec> tasks = {
        {all, 0, 0, 0, false},               // shared system prefix
        {seq0, 1, prefix, 0, false},         // doc where it was computed
        {seq12, 1, prefix + 30, 30, false},  // doc moved by 30, shared by two sequences
        {seq12, 2, prefix, 0, false},        // doc2 in place
        {seq0, 3, own0, 0, true},            // own levels
        {seq1, 4, own1, 0, true},
        {seq2, 5, own1, 0, true},
        {seq2, 6, own1, 0, false},  // an empty task contributes nothing
    };
    const double err = compare(L, runs, tasks, positions, 9);
    report("attention cascade " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

TEST_F(CudaAttentionTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}

// The merge kernel with its loads at a time fixed (CASCADE_ATTENTION_MERGE_LOADS, read when
// the backend is made; by default the step's size chooses, merge_loads_for) against the CPU:
// shared levels and a long shared level split into tasks on wgmma tiles, whose rows merge
// many parts in the merge kernel, and decode rows with split KV.
template <int LOADS>
class CudaAttentionMergeLoadsTest : public CudaAttentionWgmmaTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaTest::SetUp();
    if (IsSkipped()) return;
    ::setenv("CASCADE_ATTENTION_MERGE_LOADS", std::to_string(LOADS).c_str(), 1);
    gpu = make_backend("cuda");
    ::unsetenv("CASCADE_ATTENTION_MERGE_LOADS");
  }
  void TearDown() override {
    cuda::set_attention_merge_loads(cuda::kMergeLoadsBySize);
    CudaAttentionWgmmaTest::TearDown();
  }
};
using CudaAttentionMerge8Test = CudaAttentionMergeLoadsTest<8>;
using CudaAttentionMerge16Test = CudaAttentionMergeLoadsTest<16>;
TEST_F(CudaAttentionMerge8Test, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionMerge8Test, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionMerge8Test, DecodeRowsIncludingSplitKv) {
  check_decode_rows("attention decode, merge by 8 ");
}
TEST_F(CudaAttentionMerge16Test, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionMerge16Test, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionMerge16Test, DecodeRowsIncludingSplitKv) {
  check_decode_rows("attention decode, merge by 16 ");
}
TEST_F(CudaAttentionTest, MergeLoadsOtherThan0Or8Or16AreAnError) {
  EXPECT_THROW(cuda::set_attention_merge_loads(12), Error);
  ::setenv("CASCADE_ATTENTION_MERGE_LOADS", "12", 1);
  EXPECT_THROW(make_backend("cuda"), Error);
  ::unsetenv("CASCADE_ATTENTION_MERGE_LOADS");
}
TEST(CudaAttentionMergeLoads, SixteenUpTo4096RowsTimesHeads) {
  EXPECT_EQ(cuda::merge_loads_for(64 * 16), 16);  // B4's cached step: 64 rows, 16 heads
  EXPECT_EQ(cuda::merge_loads_for(4096), 16);
  EXPECT_EQ(cuda::merge_loads_for(4097), 8);
  EXPECT_EQ(cuda::merge_loads_for(16448 * 16), 8);  // B4's cold prefill
}

// The queries' RoPE rotations computed in the kernels (CASCADE_ROPE_TABLE=0, read when the
// backend is made) instead of looked up in the table (the default), on both task kernels'
// rotations (decode rows on CUDA cores, shared levels at rope deltas on wgmma tiles).
class CudaAttentionRopeComputedTest : public CudaAttentionWgmmaTest {
 protected:
  void SetUp() override {
    CudaAttentionWgmmaTest::SetUp();
    if (IsSkipped()) return;
    ::setenv("CASCADE_ROPE_TABLE", "0", 1);
    gpu = make_backend("cuda");
    ::unsetenv("CASCADE_ROPE_TABLE");
  }
};
TEST_F(CudaAttentionRopeComputedTest, DecodeRowsIncludingSplitKv) {
  check_decode_rows("attention decode, RoPE computed ");
}
TEST_F(CudaAttentionRopeComputedTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionRopeComputedTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionRopeComputedTest, PositionsAroundTheRopeTablesEnd) {
  check_positions_around_rope_table_end();
}
TEST_F(CudaAttentionTest, PositionsAroundTheRopeTablesEnd) {
  check_positions_around_rope_table_end();
}
TEST_F(CudaAttentionWgmmaTest, PositionsAroundTheRopeTablesEnd) {
  check_positions_around_rope_table_end();
}
TEST_F(CudaAttentionWgmmaTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaCopiesTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaPipelinedTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaPipelinedCopiesTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaWsTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaWsCopiesTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaWsFewBlocksTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}
TEST_F(CudaAttentionWgmmaWsPingPongTest, SharedLevelsWithRopeDeltasAndOwnCausalLevel) {
  check_shared_levels();
}

// Many rows against one long shared level (the cascade decode case), split across tasks
// on page boundaries as the planner does for long levels.
void CudaAttentionTest::check_long_shared_level() {
  for (const Layout& L : kLayouts) {
    std::vector<KvRun> runs = {{{}, 2000, 0}};
    build_cache(L, 2000 / L.page_size + 1, runs, 400);
    std::vector<int32_t> positions;
    for (int r = 0; r < 48; ++r) positions.push_back(2000 + r * 3);
    // Two tasks over halves of the pages (page-aligned split).
    const int half_pages = static_cast<int>(runs[0].pages.size()) / 2;
    std::vector<KvRun> halves = {
        {std::vector<int32_t>(runs[0].pages.begin(), runs[0].pages.begin() + half_pages),
         half_pages * L.page_size, 0},
        {std::vector<int32_t>(runs[0].pages.begin() + half_pages, runs[0].pages.end()),
         2000 - half_pages * L.page_size, half_pages * L.page_size}};
    const std::vector<int32_t> all = iota_rows(0, 48);
    std::vector<TaskSpec> tasks = {{all, 0, 0, 0, false}, {all, 1, halves[1].pos0, 0, false}};
    const double err = compare(L, halves, tasks, positions, 10);
    report("attention shared " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

// Queries on both sides of the last position the RoPE table holds (kRopeTablePositions;
// later ones are computed in the kernels), in two steps: decode rows on CUDA cores whose
// positions end at 32,760 to 32,859, and a tile of 40 rows at 32,750..32,789 over a shared
// level moved by 30 (looked up at position - 30) and their own causal level.
void CudaAttentionTest::check_positions_around_rope_table_end() {
  constexpr int kEnd = static_cast<int>(kRopeTablePositions);
  for (const Layout& L : kLayouts) {
    {
      const double err = compare_decode(L, {1, 9, 17, 100}, 20, 700, 12, 0, kEnd - 8);
      report("attention decode at the RoPE table's end " + name(L), err);
      EXPECT_LE(err, kBound) << name(L);
    }
    std::vector<KvRun> runs = {{{}, 20, kEnd - 68}, {{}, 40, kEnd - 18}};
    build_cache(L, 20, runs, 800);
    std::vector<int32_t> positions;
    for (int r = 0; r < 40; ++r) positions.push_back(kEnd - 18 + r);
    const std::vector<int32_t> all = iota_rows(0, 40);
    const std::vector<TaskSpec> tasks = {{all, 0, kEnd - 38, 30, false},
                                         {all, 1, kEnd - 18, 0, true}};
    const double err = compare(L, runs, tasks, positions, 13);
    report("attention tile at the RoPE table's end " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

TEST_F(CudaAttentionTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaCopiesTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaPipelinedTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaPipelinedCopiesTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaWsTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaWsCopiesTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaWsFewBlocksTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}
TEST_F(CudaAttentionWgmmaWsPingPongTest, ManyRowsOneLongSharedLevelSplitIntoTasks) {
  check_long_shared_level();
}

// Which steps take the warp-specialized kernel: those of at least the minimum rows, on head
// sizes with tensor-core kernels, while the wgmma kernels run; and both kernels give the
// CPU's attention within one process, the step's rows choosing.
TEST_F(CudaAttentionWgmmaWsTest, StepsOfAtLeastTheMinimumRowsTakeIt) {
  cuda::set_attention_wgmma_ws_min_rows(256);
  EXPECT_EQ(cuda::attention_large_tile_rows(128, 255), cuda::kMmaTileRows);
  EXPECT_EQ(cuda::attention_large_tile_rows(128, 256), cuda::kWsTileRows);
  EXPECT_EQ(cuda::attention_large_tile_rows(64, 4096), cuda::kWsTileRows);
  EXPECT_NE(cuda::attention_large_tile_rows(32, 4096), cuda::kWsTileRows);
  cuda::set_attention_wgmma_ws_min_rows(-1);
  EXPECT_EQ(cuda::attention_large_tile_rows(128, 1 << 20), cuda::kMmaTileRows);
  cuda::set_attention_wgmma_ws_min_rows(0);
  cuda::set_attention_wgmma(false);
  EXPECT_NE(cuda::attention_large_tile_rows(128, 4096), cuda::kWsTileRows);
  cuda::set_attention_wgmma(true);
  EXPECT_THROW(cuda::set_attention_wgmma_ws_min_rows(-2), Error);
  // check_chunked_prefill's step has 101 rows: under the minimum, then at it.
  cuda::set_attention_wgmma_ws_min_rows(102);
  check_chunked_prefill();
  cuda::set_attention_wgmma_ws_min_rows(101);
  check_chunked_prefill();
}

// Attention with a causal mask whose query positions lie before some keys (chunked
// prefill continuing a sequence): rows see a prefix of the task's keys only.
void CudaAttentionTest::check_chunked_prefill() {
  for (const Layout& L : kLayouts) {
    std::vector<KvRun> runs = {{{}, 301, 0}};
    build_cache(L, 301 / L.page_size + 1, runs, 500);
    std::vector<int32_t> positions;
    for (int p = 200; p < 301; ++p) positions.push_back(p);
    const double err = compare(L, runs, {{iota_rows(0, 101), 0, 0, 0, true}}, positions, 11);
    report("attention chunked-prefill " + name(L), err);
    EXPECT_LE(err, kBound) << name(L);
  }
}

TEST_F(CudaAttentionTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaCopiesTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaPipelinedTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaPipelinedCopiesTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaWsTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaWsCopiesTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaWsFewBlocksTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}
TEST_F(CudaAttentionWgmmaWsPingPongTest, ChunkedPrefillSeesOnlyEarlierKeys) {
  check_chunked_prefill();
}

TEST_F(CudaAttentionTest, RejectsPlanThatDoesNotFitTheCache) {
  const Layout L{4, 2, 32, 16};
  std::vector<KvRun> runs = {{{}, 20, 0}};
  build_cache(L, 2, runs, 600);
  AttentionPlan plan;
  plan.page_size = 16;
  plan.num_rows = 1;
  plan.add_task({0}, {0, 5}, 20, 0, 0, true);  // page 5 is outside the 2-page cache
  plan.finalize();
  Tensor q = gpu->allocate(DType::BF16, {1, 4, 32}), out = gpu->allocate(DType::BF16, {1, 4, 32});
  const int32_t p = 19;
  EXPECT_THROW(
      gpu->attention(q, gpu->upload_i32(&p, {1}), gpu_cache, plan, RopeParams{kTheta, 32}, out),
      Error);
}

}  // namespace
}  // namespace cascade::test

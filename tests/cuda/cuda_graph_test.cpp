// Decode steps replayed as CUDA graphs (DecoderModel::set_graph_max_rows) against the same
// steps run eagerly, on one GPU: a shared prefix read by every sequence as one task (the
// cascade case) plus each sequence's own pages, decode steps whose plans change every step
// (lengths cross page boundaries), and a larger eager prefill in between that replaces the
// workspace (the graphs must be recorded again).
//
// Where the batch fills its bucket the graph runs the very kernels of the eager step on
// the same inputs: the logits must be bitwise equal. Where it is padded (3 rows in a bucket
// of 4, 13 in 16) cuBLASLt may pick another algorithm for the padded row count, so the
// bound is the bf16 one of cuda_model_test (3e-2 of the row's largest logit) and the
// greedy tokens must be equal. Short prefill steps (fewer logits rows than rows) replay
// graphs too when enabled (set_graph_max_rows' second limit), under the padded bound.
#include <filesystem>
#include <functional>
#include <set>
#include <tuple>

#include "cuda_test_util.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/random_checkpoint.h"
#include "model/safetensors.h"
#include "model_loading.h"
#include "ops/cuda/cuda_attention_work.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

constexpr int kPageSize = 16;
constexpr int kSharedTokens = 40;  // the prefix every sequence reads
constexpr int kPagesPerSequence = 8;

int pages_for(int tokens) {
  return (tokens + kPageSize - 1) / kPageSize;
}

// One model and its KV cache; steps built over a shared prefix (unless `prefix` is false:
// the sequences' own tokens only) and per-sequence pages.
class Stepper {
 public:
  Stepper(const std::string& model_dir, Backend& backend, int num_seqs, int graph_max_rows,
          int graph_max_prefill_rows = 0, int pages_per_sequence = kPagesPerSequence,
          bool prefix = true)
      : num_seqs_(num_seqs),
        pages_per_sequence_(pages_per_sequence),
        prefix_(prefix),
        model_(load_decoder_model(model_dir, backend)) {
    model_->set_graph_max_rows(graph_max_rows, graph_max_prefill_rows);
    kv_ = model_->allocate_kv_cache(pages_for(kSharedTokens) + num_seqs * pages_per_sequence,
                                    kPageSize);
    lengths_.assign(static_cast<size_t>(num_seqs), 0);
  }

  DecoderModel& model() { return *model_; }
  int vocab() const { return model_->config().vocab_size; }

  // The shared prefix at positions [0, kSharedTokens).
  std::vector<float> prefill_shared(const std::vector<int32_t>& tokens) {
    ForwardBatch b = empty_batch();
    std::vector<int32_t> rows, pages;
    for (int i = 0; i < kSharedTokens; ++i) {
      rows.push_back(i);
      b.token_ids.push_back(tokens[static_cast<size_t>(i)]);
      b.positions.push_back(i);
      b.slots.push_back(i);  // the shared pages come first in the cache
    }
    for (int p = 0; p < pages_for(kSharedTokens); ++p) pages.push_back(p);
    b.plan.num_rows = kSharedTokens;
    b.plan.add_task(rows, pages, kSharedTokens, 0, 0, true);
    b.logits_rows.push_back(kSharedTokens - 1);
    return run(b);
  }

  // `count[s]` new tokens of every sequence; all rows sample when every count is 1. The
  // prefix is one task of all rows when `share`, else a task per sequence.
  std::vector<float> step(const std::vector<std::vector<int32_t>>& tokens, bool share = true) {
    ForwardBatch b = empty_batch();
    std::vector<int32_t> all_rows;
    std::vector<std::vector<int32_t>> own_rows(static_cast<size_t>(num_seqs_));
    for (int s = 0; s < num_seqs_; ++s) {
      for (int32_t id : tokens[static_cast<size_t>(s)]) {
        const int own = lengths_[static_cast<size_t>(s)]++;
        const auto row = static_cast<int32_t>(b.token_ids.size());
        all_rows.push_back(row);
        own_rows[static_cast<size_t>(s)].push_back(row);
        b.token_ids.push_back(id);
        b.positions.push_back(kSharedTokens + own);
        b.slots.push_back(first_page(s) * kPageSize + own);
      }
      b.logits_rows.push_back(static_cast<int32_t>(b.token_ids.size()) - 1);
    }
    b.plan.num_rows = static_cast<int>(b.token_ids.size());
    std::vector<int32_t> shared_pages;
    for (int p = 0; p < pages_for(kSharedTokens); ++p) shared_pages.push_back(p);
    if (prefix_ && share) b.plan.add_task(all_rows, shared_pages, kSharedTokens, 0, 0, false);
    for (int s = 0; s < num_seqs_; ++s) {
      if (prefix_ && !share) {
        b.plan.add_task(own_rows[static_cast<size_t>(s)], shared_pages, kSharedTokens, 0, 0, false);
      }
      const int len = lengths_[static_cast<size_t>(s)];
      std::vector<int32_t> pages;
      for (int p = 0; p < pages_for(len); ++p) pages.push_back(first_page(s) + p);
      b.plan.add_task(own_rows[static_cast<size_t>(s)], pages, len, kSharedTokens, 0, true);
    }
    return run(b);
  }

 private:
  ForwardBatch empty_batch() const {
    ForwardBatch b;
    b.plan.page_size = kPageSize;
    return b;
  }
  int first_page(int s) const { return pages_for(kSharedTokens) + s * pages_per_sequence_; }
  std::vector<float> run(ForwardBatch& b) {
    b.plan.finalize();
    const Tensor t = model_->forward(b, kv_);
    std::vector<float> v(static_cast<size_t>(t.numel()));
    model_->backend().download_f32(t, v.data());
    return v;
  }

  int num_seqs_;
  int pages_per_sequence_;
  bool prefix_;
  std::unique_ptr<DecoderModel> model_;
  std::vector<KvLayer> kv_;
  std::vector<int> lengths_;  // own tokens per sequence
};

// `per_seq` random ids for each of `seqs` sequences.
std::vector<std::vector<int32_t>> random_tokens(std::mt19937& rng, int seqs, int per_seq,
                                                int vocab) {
  std::vector<std::vector<int32_t>> t(static_cast<size_t>(seqs));
  for (auto& seq : t) {
    for (int i = 0; i < per_seq; ++i) {
      seq.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
    }
  }
  return t;
}

std::vector<int32_t> argmax_rows(const std::vector<float>& logits, int vocab) {
  std::vector<int32_t> ids;
  for (size_t r = 0; r * vocab < logits.size(); ++r) {
    const auto begin = logits.begin() + static_cast<ptrdiff_t>(r * vocab);
    ids.push_back(static_cast<int32_t>(std::max_element(begin, begin + vocab) - begin));
  }
  return ids;
}

double worst_row_error(const std::vector<float>& got, const std::vector<float>& ref, int vocab) {
  double worst = 0;
  for (size_t r = 0; r * vocab < ref.size(); ++r) {
    const auto at = [&](const std::vector<float>& v, size_t i) {
      return v.begin() + static_cast<ptrdiff_t>(i);
    };
    worst = std::max(worst, relative_error({at(got, r * vocab), at(got, (r + 1) * vocab)},
                                           {at(ref, r * vocab), at(ref, (r + 1) * vocab)}));
  }
  return worst;
}

// Eager and graph models side by side through prefill, 20 decode steps, a larger prefill
// step (eager; it grows the workspace) and 10 more decode steps.
void expect_graphs_match_eager(Backend& gpu, const std::string& dir, int num_seqs,
                               const std::string& label) {
  Stepper eager(dir, gpu, num_seqs, 0), graphed(dir, gpu, num_seqs, 64);
  const int vocab = eager.vocab();
  const bool padded = graphed.model().graph_rows(num_seqs) != num_seqs;
  std::mt19937 rng(static_cast<uint32_t>(num_seqs * 131 + 7));
  const auto random_step = [&](int per_seq) {
    return random_tokens(rng, num_seqs, per_seq, vocab);
  };
  std::vector<int32_t> shared(kSharedTokens);
  for (auto& id : shared) id = static_cast<int32_t>(rng() % vocab);
  EXPECT_EQ(graphed.prefill_shared(shared), eager.prefill_shared(shared)) << label;
  const auto first = random_step(9);
  EXPECT_EQ(graphed.step(first), eager.step(first)) << label;

  double worst = 0;
  int replays = 0, recorded = 0;
  for (int phase = 0; phase < 2; ++phase) {
    std::set<uint32_t> variants;  // one graph each
    for (int i = 0; i < (phase == 0 ? 20 : 10); ++i) {
      const auto tokens = random_step(1);
      // Phase 0 alternates a shared prefix task (tensor-core or 16-row tiles from 3
      // sequences on) with per-sequence prefix tasks (small tiles only): two variants.
      const bool share = phase == 1 || i % 2 == 0;
      const std::vector<float> want = eager.step(tokens, share), got = graphed.step(tokens, share);
      variants.insert(gpu.graph_variant());
      ASSERT_EQ(got.size(), want.size()) << label;
      EXPECT_EQ(argmax_rows(got, vocab), argmax_rows(want, vocab)) << label << " step " << i;
      if (padded) {
        worst = std::max(worst, worst_row_error(got, want, vocab));
      } else {
        EXPECT_EQ(got, want) << label << " decode step " << i << " (phase " << phase << ")";
      }
      ++replays;
    }
    // Both models have 2 query heads per kv head: 3 or more rows make large tiles, so
    // phase 0 has steps with and without them; their item counts may also cross a power
    // of two as the sequences grow.
    if (phase == 0 && 2 * num_seqs > kSmallTileRows) {
      EXPECT_GE(variants.size(), 2u) << label;
    }
    EXPECT_EQ(graphed.model().num_graphs(), static_cast<int>(variants.size())) << label;
    recorded += static_cast<int>(variants.size());
    EXPECT_EQ(graphed.model().graphs_recorded(), recorded) << label;
    if (phase == 0) {
      // More rows than twice the largest step so far: the workspace grows (its sizes are
      // powers of two), so the next decode step records its graph again.
      const auto more = random_step(2 * std::max(kSharedTokens, 9 * num_seqs) / num_seqs + 1);
      EXPECT_EQ(graphed.step(more), eager.step(more)) << label;
    }
  }
  report("graph vs eager decode logits, " + label + " (worst row)", worst);
  EXPECT_LE(worst, 3e-2) << label;
  EXPECT_EQ(replays, 30);
}

// A geometry's heads (Qwen3-0.6B's: head_dim 128, group 2; Qwen2.5-0.5B's: head_dim 64,
// group 7) in 2 layers with a small vocabulary, random weights from `seed`, written under a
// temporary folder named `name` (removed by the test).
constexpr int kHeadsVocab = 2048;
std::string heads_checkpoint(const std::string& geometry, const std::string& name, uint32_t seed) {
  ModelConfig config = geometry_preset(geometry);
  config.num_hidden_layers = 2;
  config.vocab_size = kHeadsVocab;
  const std::string dir = temp_dir(name);
  write_random_checkpoint(config, dir, "", seed);
  return dir;
}

using CudaGraphTest = CudaBackendTest;

// Whether this GPU takes programmatic dependent launch (left as it was).
bool programmatic_launch_supported() {
  const bool was = cuda::programmatic_launch_on();
  try {
    cuda::set_programmatic_launch(true);
  } catch (const Error&) {
    return false;
  }
  cuda::set_programmatic_launch(was);
  return true;
}

// The logits of `step` run with programmatic dependent launch on or off (then as before).
std::vector<float> with_programmatic_launch(bool on,
                                            const std::function<std::vector<float>()>& step) {
  const bool was = cuda::programmatic_launch_on();
  cuda::set_programmatic_launch(on);
  std::vector<float> logits = step();
  cuda::set_programmatic_launch(was);
  return logits;
}

TEST_F(CudaGraphTest, DecodeStepsReplayedEqualEagerOnTheTinyModel) {
  const std::string dir = fixture("models/qwen3-tiny");  // head_dim 32: CUDA-core kernels
  for (int seqs : {1, 4, 3, 13}) {
    expect_graphs_match_eager(*gpu, dir, seqs, "qwen3-tiny, " + std::to_string(seqs) + " seqs");
  }
}

// One and two sequences without a shared prefix, their own contexts long enough to be split
// into KV chunks (200, 300 and 600 tokens: 2, 3 and 5 chunks of 128): each tile's chunks
// run as one cluster of 2, 4 or 8 blocks that merges the rows itself
// (AttentionMerge::kCluster); Qwen2.5-0.5B's heads (group 7) also on 4-row tiles (one
// decode row: fewer blocks than SMs). Replayed steps equal eager ones bitwise (the same
// grid).
TEST_F(CudaGraphTest, SplitDecodeClustersReplayedEqualEager) {
  const std::string group7 = heads_checkpoint("qwen2.5-0.5b", "graph-clusters", 5);
  struct Case {
    std::string dir;
    int seqs, first_tokens;
    uint32_t cluster, four_row_tiles;
  };
  // Qwen3-tiny's groups of 2 heads always take 4-row tiles; Qwen2.5's of 7 only here.
  const std::vector<Case> cases = {{fixture("models/qwen3-tiny"), 1, 200, 2, 1},
                                   {fixture("models/qwen3-tiny"), 1, 300, 4, 1},
                                   {fixture("models/qwen3-tiny"), 2, 600, 8, 1},
                                   {group7, 1, 300, 4, 1}};
  constexpr int kLongPages = 48;
  for (const Case& c : cases) {
    const std::string label =
        c.dir + ", " + std::to_string(c.seqs) + " seqs of " + std::to_string(c.first_tokens);
    Stepper eager(c.dir, *gpu, c.seqs, 0, 0, kLongPages, false);
    Stepper graphed(c.dir, *gpu, c.seqs, 64, 0, kLongPages, false);
    std::mt19937 rng(static_cast<uint32_t>(c.first_tokens));
    const auto first = random_tokens(rng, c.seqs, c.first_tokens, eager.vocab());
    EXPECT_EQ(graphed.step(first), eager.step(first)) << label;
    for (int i = 0; i < 8; ++i) {
      const auto tokens = random_tokens(rng, c.seqs, 1, eager.vocab());
      const std::vector<float> want = eager.step(tokens);
      EXPECT_EQ(graphed.step(tokens), want) << label << " decode step " << i;
      const uint32_t variant = gpu->graph_variant();
      EXPECT_EQ((variant >> 13) & 3u, static_cast<uint32_t>(AttentionMerge::kCluster)) << label;
      EXPECT_EQ(1u << ((variant >> 16) & 3u), c.cluster) << label;
      EXPECT_EQ((variant >> 15) & 1u, c.four_row_tiles) << label;
    }
    EXPECT_EQ(graphed.model().num_graphs(), 1) << label;
    EXPECT_GE(graphed.model().graphs_recorded(), 1) << label;
  }
  std::filesystem::remove_all(group7);
}

// B6's path with programmatic dependent launch: one decode row of Qwen2.5-0.5B's heads over
// a long own context (4-row tiles, KV chunks in clusters, the GEMVs loading their weights
// before they wait), eager and replayed, bitwise equal to the same steps without it.
TEST_F(CudaGraphTest, ProgrammaticLaunchOfSplitDecodeClustersComputesTheSame) {
  if (!programmatic_launch_supported()) {
    GTEST_SKIP() << "no programmatic dependent launch on this GPU";
  }
  const std::string dir = heads_checkpoint("qwen2.5-0.5b", "graph-clusters-pdl", 6);
  constexpr int kLongPages = 48;
  Stepper plain(dir, *gpu, 1, 0, 0, kLongPages, false);
  Stepper eager(dir, *gpu, 1, 0, 0, kLongPages, false);
  Stepper graphed(dir, *gpu, 1, 64, 0, kLongPages, false);
  std::mt19937 rng(17);
  for (int i = 0; i < 9; ++i) {  // a 500-token step, then decode steps
    const auto tokens = random_tokens(rng, 1, i == 0 ? 500 : 1, plain.vocab());
    const auto want = with_programmatic_launch(false, [&] { return plain.step(tokens); });
    EXPECT_EQ(with_programmatic_launch(true, [&] { return eager.step(tokens); }), want)
        << "eager step " << i;
    EXPECT_EQ(with_programmatic_launch(true, [&] { return graphed.step(tokens); }), want)
        << "graphed step " << i;
    if (i > 0) {
      EXPECT_EQ((gpu->graph_variant() >> 13) & 3u, static_cast<uint32_t>(AttentionMerge::kCluster));
    }
  }
  EXPECT_GE(graphed.model().graphs_recorded(), 1);
  std::filesystem::remove_all(dir);
}

TEST_F(CudaGraphTest, DecodeStepsReplayedEqualEagerWithTensorCoreTiles) {
  // Qwen3-0.6B's heads (head_dim 128, group 2) in 2 layers: the shared task of 16 or more
  // sequences runs on the tensor-core kernel.
  const std::string dir = heads_checkpoint("qwen3-0.6b", "graph-geometry", 99);
  for (int seqs : {32, 13}) {
    expect_graphs_match_eager(*gpu, dir, seqs,
                              "qwen3-0.6b heads, " + std::to_string(seqs) + " seqs");
  }
  std::filesystem::remove_all(dir);
}

// The shared prefix's prefill (40 rows, 1 logits row), steps of 3 tokens per sequence and
// decode steps, graphed against eager; a step past the prefill limit runs eagerly.
TEST_F(CudaGraphTest, ShortPrefillStepsReplayedMatchEager) {
  const std::string dir = fixture("models/qwen3-tiny");
  const int seqs = 4;
  Stepper eager(dir, *gpu, seqs, 0), graphed(dir, *gpu, seqs, 64, 64);
  const DecoderModel& model = graphed.model();
  const int vocab = eager.vocab();
  std::mt19937 rng(2026);
  const auto random_step = [&](int per_seq) { return random_tokens(rng, seqs, per_seq, vocab); };
  double worst = 0;
  int graphed_steps = 0;
  const auto expect_match = [&](const std::vector<float>& got, const std::vector<float>& want,
                                const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    EXPECT_EQ(argmax_rows(got, vocab), argmax_rows(want, vocab)) << what;
    worst = std::max(worst, worst_row_error(got, want, vocab));
    ++graphed_steps;
  };

  std::vector<int32_t> shared(kSharedTokens);
  for (auto& id : shared) id = static_cast<int32_t>(rng() % vocab);
  ASSERT_EQ(model.prefill_graph_rows(kSharedTokens), 48);
  expect_match(graphed.prefill_shared(shared), eager.prefill_shared(shared), "prefix");
  EXPECT_EQ(model.graphs_recorded(), 1) << "the prefix's prefill was recorded";
  for (int i = 0; i < 6; ++i) {
    const auto tokens = random_step(3);  // 12 rows, 4 logits rows
    ASSERT_EQ(model.prefill_graph_rows(3 * seqs), 16);
    expect_match(graphed.step(tokens), eager.step(tokens), "3-token step " + std::to_string(i));
  }
  for (int i = 0; i < 4; ++i) {
    const auto tokens = random_step(1);  // decode: 4 rows, all sample
    expect_match(graphed.step(tokens), eager.step(tokens), "decode step " + std::to_string(i));
  }
  // A graph per bucket and kernel variant, recorded again only when a buffer it uses grows.
  EXPECT_GE(model.num_graphs(), 2) << "buckets 16 and 4 at least";
  EXPECT_LT(model.graphs_recorded(), graphed_steps) << "some steps replayed a recorded graph";

  const int recorded = model.graphs_recorded();
  const auto long_step = random_step(20);  // 80 rows: past the prefill limit of 64
  EXPECT_EQ(model.prefill_graph_rows(80), 0);
  EXPECT_EQ(graphed.step(long_step), eager.step(long_step)) << "eager: the very same kernels";
  EXPECT_EQ(model.graphs_recorded(), recorded);

  report("graph vs eager prefill and decode logits, qwen3-tiny (worst row)", worst);
  EXPECT_LE(worst, 3e-2);
}

// Programmatic dependent launch changes when kernels start, not what they compute: the
// same steps with it on, eager and replayed, give bitwise the logits of the eager steps
// without it (the batches fill their buckets): 4 sequences (decode through our GEMVs,
// which load their weights before they wait) and 32 (cuBLASLt, tensor-core and CUDA-core
// attention tiles; steps past kGemvMaxRows rows launch without PDL, so this checks that
// the switch between the two leaves nothing behind).
void expect_programmatic_launch_computes_the_same(Backend& gpu, const std::string& dir, int seqs,
                                                  int vocab) {
  Stepper plain(dir, gpu, seqs, 0), eager(dir, gpu, seqs, 0), graphed(dir, gpu, seqs, 64);
  std::mt19937 rng(static_cast<uint32_t>(11 + seqs));
  const auto random_step = [&](int per_seq) { return random_tokens(rng, seqs, per_seq, vocab); };
  std::vector<int32_t> shared(kSharedTokens);
  for (auto& id : shared) id = static_cast<int32_t>(rng() % vocab);
  const auto want_prefix =
      with_programmatic_launch(false, [&] { return plain.prefill_shared(shared); });
  EXPECT_EQ(with_programmatic_launch(true, [&] { return eager.prefill_shared(shared); }),
            want_prefix)
      << seqs;
  EXPECT_EQ(with_programmatic_launch(true, [&] { return graphed.prefill_shared(shared); }),
            want_prefix)
      << seqs;
  for (int i = 0; i < 8; ++i) {
    const auto tokens = random_step(i == 0 ? 3 : 1);  // a 3-token step, then decode steps
    const bool share = i % 2 == 0;
    const auto want = with_programmatic_launch(false, [&] { return plain.step(tokens, share); });
    EXPECT_EQ(with_programmatic_launch(true, [&] { return eager.step(tokens, share); }), want)
        << seqs << " seqs, eager step " << i;
    EXPECT_EQ(with_programmatic_launch(true, [&] { return graphed.step(tokens, share); }), want)
        << seqs << " seqs, graphed step " << i;
  }
  EXPECT_GE(graphed.model().graphs_recorded(), 1) << seqs;
}

// Steps past kGemvMaxRows rows launch without PDL: preparing a step's attention allows it
// for this thread's launches or not, and with it off nothing takes it.
TEST_F(CudaGraphTest, ProgrammaticLaunchOnlyInStepsOfFewRows) {
  if (!programmatic_launch_supported()) {
    GTEST_SKIP() << "no programmatic dependent launch on this GPU";
  }
  EXPECT_TRUE(cuda::step_takes_programmatic_launch(1));
  EXPECT_TRUE(cuda::step_takes_programmatic_launch(cuda::kGemvMaxRows));
  EXPECT_FALSE(cuda::step_takes_programmatic_launch(cuda::kGemvMaxRows + 1));
  const std::string dir = fixture("models/qwen3-tiny");
  const bool was = cuda::programmatic_launch_on();
  cuda::set_programmatic_launch(true);
  Stepper few(dir, *gpu, cuda::kGemvMaxRows, 0), many(dir, *gpu, cuda::kGemvMaxRows + 1, 0);
  std::mt19937 rng(5);
  few.step(random_tokens(rng, cuda::kGemvMaxRows, 1, few.vocab()));
  EXPECT_TRUE(cuda::programmatic_launch_enabled());
  many.step(random_tokens(rng, cuda::kGemvMaxRows + 1, 1, many.vocab()));
  EXPECT_FALSE(cuda::programmatic_launch_enabled());
  few.step(random_tokens(rng, cuda::kGemvMaxRows, 1, few.vocab()));
  EXPECT_TRUE(cuda::programmatic_launch_enabled());
  cuda::set_programmatic_launch(false);
  EXPECT_FALSE(cuda::programmatic_launch_enabled());
  cuda::set_programmatic_launch(was);
}

TEST_F(CudaGraphTest, ProgrammaticLaunchComputesTheSame) {
  if (!programmatic_launch_supported()) {
    GTEST_SKIP() << "no programmatic dependent launch on this GPU";
  }
  const std::string dir = heads_checkpoint("qwen3-0.6b", "graph-pdl", 7);
  for (int seqs : {32, 4}) {
    expect_programmatic_launch_computes_the_same(*gpu, dir, seqs, kHeadsVocab);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(CudaGraphTest, BucketsPadDecodeSteps) {
  const std::string dir = fixture("models/qwen3-tiny");
  Stepper s(dir, *gpu, 1, 64);
  const DecoderModel& m = s.model();
  EXPECT_EQ(m.graph_rows(1), 1);
  EXPECT_EQ(m.graph_rows(3), 4);
  EXPECT_EQ(m.graph_rows(8), 8);
  EXPECT_EQ(m.graph_rows(9), 16);
  EXPECT_EQ(m.graph_rows(33), 48);
  EXPECT_EQ(m.graph_rows(64), 64);
  EXPECT_EQ(m.graph_rows(65), 0) << "past graph_max_rows: eager";
  EXPECT_EQ(m.graph_rows(0), 0);
  EXPECT_EQ(m.prefill_graph_rows(3), 0) << "prefill steps: eager unless enabled";
  Stepper p(dir, *gpu, 1, 1, 128);
  EXPECT_EQ(p.model().graph_rows(2), 0);
  EXPECT_EQ(p.model().prefill_graph_rows(64), 64) << "independent of the decode limit";
  EXPECT_EQ(p.model().prefill_graph_rows(100), 112);
  EXPECT_EQ(p.model().prefill_graph_rows(129), 0);
}

}  // namespace
}  // namespace cascade::test

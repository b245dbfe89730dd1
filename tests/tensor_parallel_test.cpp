// Tensor parallelism on the CPU backend: ranks are threads of this process joined by the
// in-process communicator. The shard plan's cases and errors; the logits of batched
// prefill and decode steps at several world sizes (with KV-head replication) against the
// unsharded model; greedy tokens through LLM with plain and composed prompts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "cascade/llm.h"
#include "expect_error.h"
#include "model/model_weights.h"
#include "model/random_checkpoint.h"
#include "model/shard_plan.h"
#include "model/tensor_parallel_model.h"
#include "test_paths.h"
#include "tiny_checkpoint.h"

namespace cascade {
namespace {

using test::expect_error;

ModelConfig heads_config(int q_heads, int kv_heads) {
  ModelConfig c = test::tiny_qwen3_config();  // vocab 48, intermediate 40
  c.num_attention_heads = q_heads;
  c.num_key_value_heads = kv_heads;
  c.intermediate_size = 48;
  return c;
}

// --- Shard plan ---------------------------------------------------------------------------

TEST(ShardPlan, SplitsHeadsColumnsAndVocabularyEvenly) {
  const ModelConfig c = heads_config(8, 4);
  for (int r = 0; r < 4; ++r) {
    const ShardPlan s = make_shard_plan(c, r, 4);
    EXPECT_EQ(s.q_head_begin, 2 * r);
    EXPECT_EQ(s.num_q_heads, 2);
    EXPECT_EQ(s.kv_head_begin, r);
    EXPECT_EQ(s.num_kv_heads, 1);
    EXPECT_EQ(s.inter_begin, 12 * r);
    EXPECT_EQ(s.inter_size, 12);
    EXPECT_EQ(s.vocab_begin, 12 * r);
    EXPECT_EQ(s.vocab_size, 12);
    EXPECT_TRUE(s.sharded());
  }
  const ShardPlan whole = make_shard_plan(c, 0, 1);
  EXPECT_EQ(whole.num_q_heads, 8);
  EXPECT_EQ(whole.num_kv_heads, 4);
  EXPECT_EQ(whole.vocab_size, 48);
  EXPECT_FALSE(whole.sharded());
}

// More ranks than KV heads: each rank keeps the one KV head its query heads read.
TEST(ShardPlan, ReplicatesKvHeadsWhenRanksOutnumberThem) {
  const ModelConfig c = heads_config(8, 2);
  for (int r = 0; r < 8; ++r) {
    const ShardPlan s = make_shard_plan(c, r, 8);
    EXPECT_EQ(s.num_q_heads, 1);
    EXPECT_EQ(s.num_kv_heads, 1);
    EXPECT_EQ(s.kv_head_begin, r / 4) << "rank " << r;  // q head r reads kv head r / 4
  }
  const ShardPlan s = make_shard_plan(heads_config(4, 2), 3, 4);
  EXPECT_EQ(s.q_head_begin, 3);
  EXPECT_EQ(s.kv_head_begin, 1);
}

TEST(ShardPlan, RefusesSizesThatDoNotSplitTheModel) {
  expect_error([] { make_shard_plan(heads_config(4, 2), 0, 3); },
               {"tensor_parallel_size 3 must divide the model's num_attention_heads (4)"});
  expect_error([] { make_shard_plan(heads_config(4, 2), 0, 8); },
               {"tensor_parallel_size 8", "num_attention_heads (4)"});
  expect_error([] { make_shard_plan(heads_config(6, 3), 0, 2); },
               {"tensor_parallel_size 2 must divide the model's num_key_value_heads (3) or be a "
                "multiple of it"});
  ModelConfig c = heads_config(4, 2);
  c.vocab_size = 50;
  expect_error([&] { make_shard_plan(c, 0, 4); }, {"tensor_parallel_size 4", "vocab_size (50)"});
  c = heads_config(4, 2);
  c.intermediate_size = 42;
  expect_error([&] { make_shard_plan(c, 0, 4); }, {"intermediate_size (42)"});
  expect_error([] { make_shard_plan(heads_config(4, 2), 0, 0); },
               {"tensor_parallel_size must be > 0"});
  expect_error([] { make_shard_plan(heads_config(4, 2), 2, 2); }, {"rank 2"});
}

// --- Logits against the unsharded model ---------------------------------------------------

std::vector<int32_t> random_ids(size_t n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % uint32_t(vocab));
  return ids;
}

// Sequences with contiguous pages (sequence i owns pages [i·P, (i+1)·P)); each step runs
// some new tokens of every sequence, with logits for every row.
class Steps {
 public:
  static constexpr int kPageSize = 4, kPagesPerSeq = 8;
  explicit Steps(size_t num_seqs) : lengths_(num_seqs, 0) {}
  int num_pages() const { return kPagesPerSeq * static_cast<int>(lengths_.size()); }

  ForwardBatch batch(const std::vector<std::vector<int32_t>>& new_tokens) {
    ForwardBatch b;
    b.plan.page_size = kPageSize;
    for (const auto& t : new_tokens) b.plan.num_rows += static_cast<int>(t.size());
    for (size_t s = 0; s < new_tokens.size(); ++s) {
      std::vector<int32_t> rows, pages;
      const int first_page = static_cast<int>(s) * kPagesPerSeq;
      for (int32_t token : new_tokens[s]) {
        rows.push_back(static_cast<int32_t>(b.token_ids.size()));
        b.logits_rows.push_back(rows.back());
        b.token_ids.push_back(token);
        b.positions.push_back(lengths_[s]);
        b.slots.push_back(first_page * kPageSize + lengths_[s]);
        ++lengths_[s];
      }
      for (int p = 0; p < (lengths_[s] + kPageSize - 1) / kPageSize; ++p) {
        pages.push_back(first_page + p);
      }
      b.plan.add_task(rows, pages, lengths_[s], 0, 0, true);
    }
    b.plan.finalize();
    return b;
  }

 private:
  std::vector<int> lengths_;
};

// max |got - want| / max |want| over one row of logits.
double row_error(const float* got, const float* want, int vocab) {
  double diff = 0, scale = 0;
  for (int k = 0; k < vocab; ++k) {
    diff = std::max(diff, double(std::fabs(got[k] - want[k])));
    scale = std::max(scale, double(std::fabs(want[k])));
  }
  return diff / scale;
}

// Largest row error of `got` against `want`, both [rows, vocab].
double max_row_error(const std::vector<float>& got, const std::vector<float>& want, int vocab) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t r = 0; r * size_t(vocab) < std::min(got.size(), want.size()); ++r) {
    worst = std::max(worst, row_error(&got[r * size_t(vocab)], &want[r * size_t(vocab)], vocab));
  }
  return worst;
}

// f32 sums in another order than the unsharded products: a few 1e-7 relative.
constexpr double kTolerance = 1e-5;

// Prefill of three prompts in one step, then three batched decode steps fed with the
// unsharded model's greedy tokens; every row's logits of `world` ranks against one rank.
void expect_sharded_logits_match(const std::string& model_dir, int world) {
  const ModelConfig config = load_model_config(model_dir);
  const auto checkpoint = SafetensorsModel::open(model_dir);
  TensorParallelModel whole(config, checkpoint, {"cpu", 1, 1});
  TensorParallelModel split(config, checkpoint, {"cpu", world, world});
  const int vocab = config.vocab_size;
  std::vector<std::vector<int32_t>> tokens = {random_ids(5, vocab, 1), random_ids(13, vocab, 2),
                                              random_ids(1, vocab, 3)};
  Steps whole_steps(tokens.size()), split_steps(tokens.size());
  whole.allocate_kv_cache(whole_steps.num_pages(), Steps::kPageSize);
  split.allocate_kv_cache(split_steps.num_pages(), Steps::kPageSize);
  std::vector<float> want, got;
  for (int step = 0; step < 4; ++step) {
    whole.forward(whole_steps.batch(tokens), want);
    split.forward(split_steps.batch(tokens), got);
    EXPECT_LT(max_row_error(got, want, vocab), kTolerance) << "step " << step;
    // Next step: each sequence's greedy token after its last row.
    size_t row_end = 0;
    for (auto& t : tokens) {
      row_end += t.size();
      const float* last = &want[(row_end - 1) * size_t(vocab)];
      t = {static_cast<int32_t>(std::max_element(last, last + vocab) - last)};
    }
  }
}

class ShardedLogits : public ::testing::TestWithParam<const char*> {};

// Both fixtures have 4 query heads over 2 KV heads: 2 ranks split the KV heads, 4 ranks
// share each KV head between two ranks.
TEST_P(ShardedLogits, MatchTheUnshardedModelAtTwoAndFourRanks) {
  const std::string dir = test::fixture(std::string("models/") + GetParam());
  for (int world : {2, 4}) {
    SCOPED_TRACE("tensor_parallel_size " + std::to_string(world));
    expect_sharded_logits_match(dir, world);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ShardedLogits, ::testing::Values("qwen3-tiny", "qwen2-tiny"));

// 8 query heads over 2 KV heads: local GQA groups of 4 and 2 (2 and 4 ranks) and four
// ranks per KV head (8 ranks).
TEST(ShardedLogitsMoreHeads, MatchTheUnshardedModelAtTwoFourAndEightRanks) {
  const std::string dir = test::temp_dir("tp_eight_heads");
  write_random_checkpoint(heads_config(8, 2), dir, "", 11);
  for (int world : {2, 4, 8}) {
    SCOPED_TRACE("tensor_parallel_size " + std::to_string(world));
    expect_sharded_logits_match(dir, world);
  }
}

// One rank of two whose all-reduce does nothing: its own vocabulary columns come out
// wrong, so the comparison above would catch a skipped all-reduce.
class NoAllReduce final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_sum(Tensor& /*t*/) override {}
  void all_gather_columns(const Tensor& local, Tensor& out) override {
    const int64_t rows = local.dim(0), n = local.dim(1);
    for (int64_t i = 0; i < rows; ++i) {
      std::memcpy(out.as<float>() + i * 2 * n, local.as<float>() + i * n, size_t(n) * 4);
    }
  }
  void barrier() override {}
};

TEST(ShardedLogitsControl, ASkippedAllReduceIsFarOffTheUnshardedLogits) {
  const std::string dir = test::fixture("models/qwen3-tiny");
  const ModelConfig config = load_model_config(dir);
  const auto checkpoint = SafetensorsModel::open(dir);
  auto backend = make_cpu_backend(1);
  NoAllReduce comm;
  DecoderModel rank0(config,
                     load_model_weights(config, checkpoint, *backend, make_shard_plan(config, 0, 2)),
                     *backend, &comm);
  TensorParallelModel whole(config, checkpoint, {"cpu", 1, 1});
  Steps steps(1), whole_steps(1);
  const std::vector<std::vector<int32_t>> prompt = {random_ids(9, config.vocab_size, 4)};
  auto kv = rank0.allocate_kv_cache(steps.num_pages(), Steps::kPageSize);
  const Tensor t = rank0.forward(steps.batch(prompt), kv);
  std::vector<float> got(size_t(t.numel())), want;
  backend->download_f32(t, got.data());
  whole.allocate_kv_cache(whole_steps.num_pages(), Steps::kPageSize);
  whole.forward(whole_steps.batch(prompt), want);
  // Rank 0's half of the vocabulary, which it computed itself.
  const int half = config.vocab_size / 2;
  double worst = 0;
  for (size_t r = 0; r < 9; ++r) {
    worst = std::max(worst, row_error(&got[r * 2 * size_t(half)], &want[r * 2 * size_t(half)],
                                      half));
  }
  EXPECT_GT(worst, 1e-2);
}

// --- Through the engine ------------------------------------------------------------------

const SamplingParams kGreedy{.temperature = 0, .max_tokens = 10, .ignore_eos = true};
// Seeded sampling reads the whole distribution, not only its top (the tiny fixtures'
// greedy tokens barely depend on the MLP).
const SamplingParams kSeeded{.temperature = 1, .seed = 7, .max_tokens = 10, .ignore_eos = true};

EngineConfig engine_config(int tensor_parallel_size) {
  EngineConfig c;
  c.device = "cpu";
  c.num_threads = 2;
  c.max_model_len = 256;
  c.num_kv_pages = 96;
  c.chunk_mode = ChunkMode::Compositional;
  c.enable_cascade_attention = true;
  c.cascade_min_shared_tokens = 16;  // the test chunks are short: shared on every backend
  c.tensor_parallel_size = tensor_parallel_size;
  return c;
}

std::vector<std::vector<int32_t>> tokens_of(const std::vector<RequestOutput>& outs) {
  std::vector<std::vector<int32_t>> t;
  for (const auto& o : outs) t.push_back(o.token_ids);
  return t;
}

// Plain prompts and composed ones (a system chunk and shared documents in several orders,
// so that cascade attention has shared levels), batched.
std::vector<Prompt> mixed_prompts(int vocab) {
  const Chunk system{.token_ids = random_ids(9, vocab, 100), .kind = ChunkKind::System};
  std::vector<Chunk> docs;
  for (uint32_t i = 0; i < 3; ++i) {
    docs.push_back(Chunk{.token_ids = random_ids(20 + 7 * i, vocab, 200 + i),
                         .kind = ChunkKind::Context});
  }
  std::vector<Prompt> prompts;
  const std::vector<std::vector<int>> picks = {{0, 1, 2}, {2, 1, 0}, {1}, {0, 2}, {2, 0, 1}};
  for (size_t i = 0; i < picks.size(); ++i) {
    Prompt p{.framing = Prompt::Framing::Raw};
    p.chunks.push_back(system);
    for (int d : picks[i]) p.chunks.push_back(docs[size_t(d)]);
    p.token_ids = random_ids(6, vocab, 300 + uint32_t(i));
    prompts.push_back(p);
  }
  for (uint32_t i = 0; i < 3; ++i) {
    prompts.push_back(Prompt{.token_ids = random_ids(5 + 11 * i, vocab, 400 + i)});
  }
  return prompts;
}

class ShardedEngine : public ::testing::TestWithParam<const char*> {};

void expect_tokens_equal_one_rank(const std::string& dir, int vocab,
                                  const std::vector<int>& worlds) {
  const auto prompts = mixed_prompts(vocab);
  LLM one(dir, engine_config(1));
  const auto greedy = tokens_of(one.generate(prompts, kGreedy));
  const auto seeded = tokens_of(one.generate(prompts, kSeeded));
  for (int world : worlds) {
    SCOPED_TRACE("tensor_parallel_size " + std::to_string(world));
    LLM split(dir, engine_config(world));
    EXPECT_EQ(tokens_of(split.generate(prompts, kGreedy)), greedy);
    EXPECT_EQ(tokens_of(split.generate(prompts, kSeeded)), seeded);
    EXPECT_GT(split.stats().chunk_hits, 0) << "no chunk was shared";
  }
}

TEST_P(ShardedEngine, GreedyAndSeededTokensEqualOneRank) {
  const std::string dir = test::fixture(std::string("models/") + GetParam());
  expect_tokens_equal_one_rank(dir, 400, {2});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ShardedEngine, ::testing::Values("qwen3-tiny", "qwen2-tiny"));

// The tied qwen3-tiny fixture hardly depends on its MLP (its tokens survive a skipped
// all-reduce); this untied checkpoint does, and has 8 query heads over 2 KV heads.
TEST(ShardedEngineMoreHeads, TokensEqualOneRankAtTwoFourAndEightRanks) {
  const std::string dir = test::temp_dir("tp_engine_eight_heads");
  ModelConfig config = heads_config(8, 2);
  config.tie_word_embeddings = false;
  write_random_checkpoint(config, dir, test::fixture("models/qwen3-tiny"), 12);
  expect_tokens_equal_one_rank(dir, config.vocab_size, {2, 4, 8});
}

TEST(ShardedEngineErrors, NameTensorParallelSize) {
  const std::string dir = test::fixture("models/qwen3-tiny");
  expect_error([&] { LLM llm(dir, engine_config(3)); },
               {"tensor_parallel_size 3 must divide the model's num_attention_heads (4)"});
  expect_error([&] { LLM llm(dir, engine_config(0)); }, {"tensor_parallel_size must be > 0"});
}

}  // namespace
}  // namespace cascade

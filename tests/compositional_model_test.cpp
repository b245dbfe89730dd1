// The engine's chunk path (registry, scheduler fills, planner, model runner) against a
// naive double forward that builds the compositional layout explicitly: a chunk's tokens
// see their parent chain and themselves at canonical positions; the request's own tokens
// see every chunk at its logical position (explicit re-rotation of its keys) and
// themselves causally. Exact mode is checked against the plain causal forward.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <random>

#include "cache/model_fingerprint.h"
#include "engine/chunk_layout.h"
#include "engine/model_runner.h"
#include "engine/scheduler.h"
#include "model/model_config.h"
#include "model/safetensors.h"
#include "reference_model.h"
#include "test_paths.h"

namespace cascade {
namespace {

using test::DVec;

std::vector<int32_t> random_ids(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % 400);
  return ids;
}

ComposedChunk chunk(ChunkKind kind, std::vector<int32_t> ids) {
  return {kind, std::make_shared<const std::vector<int32_t>>(std::move(ids))};
}

// The engine's pieces without the engine loop, so that the sampled rows' logits can be
// read: runs sequences until each samples once and returns each one's logits.
class ChunkPath {
 public:
  ChunkPath(const std::string& model_dir, const EngineConfig& config)
      : config_(config),
        runner_(model_dir, config),
        pool_(runner_.num_kv_pages(), config.page_size),
        registry_(pool_, config.chunk_registry_size, config.chunk_page_ratio,
                  runner_.kv_bytes_per_page()),
        scheduler_(config, pool_, nullptr, &registry_),
        fingerprint_(model_fingerprint(model_dir)) {}

  std::unique_ptr<Sequence> make(const std::vector<ComposedChunk>& chunks,
                                 std::vector<int32_t> own) {
    auto seq = std::make_unique<Sequence>();
    seq->id = next_id_++;
    lay_out_chunks(chunks, config_.chunk_mode, fingerprint_, *seq);
    seq->tokens = std::move(own);
    seq->num_prompt_tokens = seq->num_tokens();
    return seq;
  }

  std::vector<std::vector<float>> first_logits(const std::vector<Sequence*>& seqs) {
    for (Sequence* s : seqs) scheduler_.add(s);
    std::vector<std::vector<float>> logits(seqs.size());
    const int vocab = runner_.model_config().vocab_size;
    for (int steps = 0; scheduler_.has_unfinished() && steps < 1000; ++steps) {
      const SchedulerOutput out = scheduler_.schedule();
      EXPECT_FALSE(out.empty());
      if (out.empty()) break;
      const std::vector<float>& rows = runner_.run(out);
      scheduler_.complete(out);
      size_t r = 0;
      for (const auto& item : out.items) {
        if (!item.samples) continue;
        const auto index =
            static_cast<size_t>(std::find(seqs.begin(), seqs.end(), item.seq) - seqs.begin());
        logits[index].assign(rows.begin() + static_cast<ptrdiff_t>(r * vocab),
                             rows.begin() + static_cast<ptrdiff_t>((r + 1) * vocab));
        scheduler_.remove(item.seq);
        ++r;
      }
    }
    return logits;
  }

  const ModelConfig& model_config() const { return runner_.model_config(); }
  const ChunkRegistry& registry() const { return registry_; }
  const PagePool& pool() const { return pool_; }

 private:
  EngineConfig config_;
  ModelRunner runner_;
  PagePool pool_;
  ChunkRegistry registry_;
  Scheduler scheduler_;
  ChunkKey fingerprint_;
  int64_t next_id_ = 0;
};

// The reference layout of a laid-out sequence (chunks, then own tokens).
test::ReferenceLayout compositional_layout(const Sequence& seq) {
  std::vector<int> chunk_of;  // token -> chunk index, or -1 for own tokens
  for (size_t c = 0; c < seq.chunks.size(); ++c) {
    chunk_of.insert(chunk_of.end(), static_cast<size_t>(seq.chunks[c].length()),
                    static_cast<int>(c));
  }
  chunk_of.insert(chunk_of.end(), static_cast<size_t>(seq.num_tokens()), -1);
  const auto& chunks = seq.chunks;
  test::ReferenceLayout layout;
  layout.visible = [chunk_of, &chunks](size_t t, size_t j) {
    if (j > t) return false;
    const int ct = chunk_of[t], cj = chunk_of[j];
    if (ct < 0) return true;  // own tokens see everything before
    return cj == ct || cj < chunks[static_cast<size_t>(ct)].num_parents;  // parents and itself
  };
  layout.position = [chunk_of, &chunks](size_t t, size_t j) {
    const int ct = chunk_of[t], cj = chunk_of[j];
    if (ct < 0 || cj < 0) return static_cast<double>(j);  // logical frame
    const auto& c = chunks[static_cast<size_t>(cj)];      // chunk frame: canonical
    return static_cast<double>(c.canonical_start + (static_cast<int>(j) - c.logical_start));
  };
  return layout;
}

std::vector<int32_t> all_tokens(const Sequence& seq) {
  std::vector<int32_t> t;
  for (const auto& c : seq.chunks) t.insert(t.end(), c.tokens->begin(), c.tokens->end());
  t.insert(t.end(), seq.tokens.begin(), seq.tokens.end());
  return t;
}

test::HostWeights host_weights(const std::string& dir, const ModelConfig& config) {
  auto backend = make_cpu_backend(1);
  const auto checkpoint = SafetensorsModel::open(dir);
  return test::download_weights(load_model_weights(config, checkpoint, *backend), *backend);
}

// fp32 engine against the double reference over 2 layers and ~60 positions: a few 1e-7
// relative is what the golden logits tests see; 2e-5 leaves room for the merge order.
constexpr double kTolerance = 2e-5;

struct Case {
  const char* model;
  ChunkMode mode;
  bool cascade;
};

class CompositionalModelTest : public ::testing::TestWithParam<Case> {
 protected:
  std::string dir = test::fixture(std::string("models/") + GetParam().model);
  EngineConfig config() const {
    EngineConfig e;
    e.page_size = 16;
    e.num_kv_pages = 64;
    e.max_model_len = 256;
    e.max_num_batched_tokens = 40;  // chunks are filled over several steps
    e.chunk_mode = GetParam().mode;
    e.enable_cascade_attention = GetParam().cascade;
    e.cascade_min_shared_tokens = 16;  // the test chunks are short: shared on every backend
    e.num_threads = 2;
    return e;
  }
  // A system chunk, three documents of lengths that do not fill pages, two orders.
  std::vector<ComposedChunk> sys = {chunk(ChunkKind::System, random_ids(5, 1))};
  ComposedChunk a = chunk(ChunkKind::Context, random_ids(13, 2));
  ComposedChunk b = chunk(ChunkKind::Context, random_ids(21, 3));
  ComposedChunk c = chunk(ChunkKind::Context, random_ids(7, 4));
  std::vector<ComposedChunk> with(std::vector<ComposedChunk> docs) const {
    std::vector<ComposedChunk> out = sys;
    out.insert(out.end(), docs.begin(), docs.end());
    return out;
  }
};

TEST_P(CompositionalModelTest, LogitsMatchTheExplicitReferenceInTwoOrdersBatched) {
  ChunkPath path(dir, config());
  const auto host = host_weights(dir, path.model_config());
  auto abc = path.make(with({a, b, c}), random_ids(6, 10));
  auto cab = path.make(with({c, a, b}), random_ids(9, 11));
  auto ba = path.make(with({b, a}), random_ids(1, 12));
  const auto got = path.first_logits({abc.get(), cab.get(), ba.get()});
  for (const Sequence* s : {abc.get(), cab.get(), ba.get()}) {
    const auto layout =
        GetParam().mode == ChunkMode::Exact ? test::causal_layout() : compositional_layout(*s);
    const DVec want =
        test::reference_logits(path.model_config(), host, all_tokens(*s), layout).back();
    const size_t i = static_cast<size_t>(s->id);
    ASSERT_EQ(got[i].size(), want.size());
    EXPECT_LT(test::row_error(got[i].data(), want), kTolerance) << "sequence " << i;
    if (GetParam().mode == ChunkMode::Compositional) {
      // The layout matters: the plain causal forward of the same tokens differs.
      const DVec plain = test::reference_logits(path.model_config(), host, all_tokens(*s)).back();
      EXPECT_GT(test::row_error(got[i].data(), plain), 1e-3) << "sequence " << i;
    }
  }
}

TEST_P(CompositionalModelTest, PermutedChunksReuseTheCacheAndFollowTheReference) {
  ChunkPath path(dir, config());
  const auto host = host_weights(dir, path.model_config());
  auto first = path.make(with({a, b, c}), random_ids(4, 20));
  path.first_logits({first.get()});
  const int64_t misses = path.registry().stats().misses;
  EXPECT_EQ(misses, 4);  // system + three documents
  auto permuted = path.make(with({c, b, a}), random_ids(4, 20));
  const auto got = path.first_logits({permuted.get()});
  if (GetParam().mode == ChunkMode::Compositional) {
    EXPECT_EQ(path.registry().stats().misses, misses);  // nothing recomputed
    EXPECT_EQ(path.registry().stats().hits, 4);
  } else {
    EXPECT_EQ(path.registry().stats().misses, misses + 3);  // exact: the order is the key
  }
  const auto layout =
      GetParam().mode == ChunkMode::Exact ? test::causal_layout() : compositional_layout(*permuted);
  const DVec want =
      test::reference_logits(path.model_config(), host, all_tokens(*permuted), layout).back();
  EXPECT_LT(test::row_error(got[0].data(), want), kTolerance);
  // Every page is either free or held by a cached chunk.
  EXPECT_EQ(path.pool().num_free() + path.registry().num_pages(), path.pool().num_pages());
}

INSTANTIATE_TEST_SUITE_P(Modes, CompositionalModelTest,
                         ::testing::Values(Case{"qwen3-tiny", ChunkMode::Compositional, true},
                                           Case{"qwen3-tiny", ChunkMode::Compositional, false},
                                           Case{"qwen3-tiny", ChunkMode::Exact, true},
                                           Case{"qwen3-tiny", ChunkMode::Exact, false},
                                           Case{"qwen2-tiny", ChunkMode::Compositional, true},
                                           Case{"qwen2-tiny", ChunkMode::Exact, false}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           const Case& c = param_info.param;
                           return std::string(c.model[4] == '3' ? "Qwen3" : "Qwen2") +
                                  (c.mode == ChunkMode::Exact ? "Exact" : "Compositional") +
                                  (c.cascade ? "CascadeOn" : "CascadeOff");
                         });

}  // namespace
}  // namespace cascade

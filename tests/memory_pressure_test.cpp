// A page pool four times too small for the offered load (composed prompts over shared
// chunks plus plain prompts sharing a prefix): every request completes with the tokens of
// an unconstrained run, the chunk registry's invariants hold after every step (so a chunk
// in use is never evictable), and afterwards every page goes back to the pool.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <map>
#include <random>
#include <vector>

#include "cascade/llm.h"
#include "engine/llm_engine.h"
#include "test_paths.h"

namespace cascade {
namespace {

constexpr int kPageSize = 16;
constexpr int kMaxTokens = 48;

std::vector<int32_t> random_ids(size_t n, std::mt19937& rng) {
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % 400);
  return ids;
}

int pages_for(size_t tokens) {
  return static_cast<int>((tokens + kPageSize - 1) / kPageSize);
}

struct Load {
  std::vector<Prompt> prompts;
  int offered_pages = 0;  // pages all requests and distinct chunks hold when run at once
};

// 24 prompts composed of a system chunk and 1-3 of 8 documents, and 8 plain prompts that
// share a 40-token prefix.
Load make_load() {
  std::mt19937 rng(2026);
  Load load;
  const Chunk system{.token_ids = random_ids(12, rng), .kind = ChunkKind::System};
  std::vector<Chunk> docs;
  load.offered_pages += pages_for(system.token_ids.size());
  for (int i = 0; i < 8; ++i) {
    docs.push_back(
        Chunk{.token_ids = random_ids(10 + rng() % 51, rng), .kind = ChunkKind::Context});
    load.offered_pages += pages_for(docs.back().token_ids.size());
  }
  for (int r = 0; r < 24; ++r) {
    Prompt p{.framing = Prompt::Framing::Raw};
    p.chunks.push_back(system);
    std::vector<size_t> order = {0, 1, 2, 3, 4, 5, 6, 7};
    std::shuffle(order.begin(), order.end(), rng);
    const size_t n = 1 + rng() % 3;  // distinct documents in a random order
    for (size_t k = 0; k < n; ++k) p.chunks.push_back(docs[order[k]]);
    p.token_ids = random_ids(8, rng);
    load.offered_pages += pages_for(p.token_ids.size() + kMaxTokens);
    load.prompts.push_back(std::move(p));
  }
  const std::vector<int32_t> shared = random_ids(40, rng);
  for (int r = 0; r < 8; ++r) {
    Prompt p;
    p.token_ids = shared;
    const auto own = random_ids(8, rng);
    p.token_ids.insert(p.token_ids.end(), own.begin(), own.end());
    load.offered_pages += pages_for(p.token_ids.size() + kMaxTokens);
    load.prompts.push_back(std::move(p));
  }
  return load;
}

EngineConfig config_with_pages(int num_kv_pages) {
  EngineConfig c;
  c.device = "cpu";
  c.num_threads = 2;
  c.page_size = kPageSize;
  c.max_model_len = 320;
  c.num_kv_pages = num_kv_pages;
  c.chunk_mode = ChunkMode::Compositional;
  c.enable_cascade_attention = true;
  c.cascade_min_shared_tokens = 16;  // the test chunks are short: shared on every backend
  c.chunk_page_ratio = 0.5f;
  return c;
}

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = kMaxTokens;
  p.ignore_eos = true;
  return p;
}

// Runs every prompt to completion, checking the registry after each step; the generated
// ids by prompt index.
std::vector<std::vector<int32_t>> run_checked(LLMEngine& engine,
                                              const std::vector<Prompt>& prompts) {
  std::map<int64_t, size_t> index_of;
  for (size_t i = 0; i < prompts.size(); ++i)
    index_of[engine.add_request(prompts[i], greedy())] = i;
  std::vector<std::vector<int32_t>> out(prompts.size());
  for (int step = 0; engine.has_unfinished(); ++step) {
    if (step > 20000) {
      ADD_FAILURE() << "no progress after 20000 steps";
      break;
    }
    for (const RequestOutput& o : engine.step()) {
      if (o.finished()) out[index_of.at(o.request_id)] = o.token_ids;
    }
    engine.chunk_registry()->check_invariants();
    const EngineStats s = engine.stats();
    EXPECT_LE(s.chunk_entries, engine.config().chunk_registry_size);
    EXPECT_LE(s.chunk_pages + s.num_free_kv_pages, s.num_kv_pages);
  }
  return out;
}

TEST(MemoryPressure, APoolFourTimesTooSmallGivesTheSameTokensAndLeaksNoPage) {
  const std::string model = test::fixture("models/qwen3-tiny");
  const Load load = make_load();
  LLMEngine roomy(model, config_with_pages(2 * load.offered_pages));
  const auto want = run_checked(roomy, load.prompts);
  EXPECT_EQ(roomy.stats().preemptions, 0);
  EXPECT_EQ(roomy.stats().chunk_evictions, 0);

  LLMEngine tight(model, config_with_pages(load.offered_pages / 4));
  const auto got = run_checked(tight, load.prompts);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].size(), static_cast<size_t>(kMaxTokens)) << "prompt " << i;
    EXPECT_EQ(got[i], want[i]) << "prompt " << i;
  }
  const EngineStats s = tight.stats();
  std::printf(
      "offered %d pages to a pool of %d: %lld preemptions, %lld chunk evictions, "
      "%lld chunk misses, %lld chunk hits\n",
      load.offered_pages, s.num_kv_pages, static_cast<long long>(s.preemptions),
      static_cast<long long>(s.chunk_evictions), static_cast<long long>(s.chunk_misses),
      static_cast<long long>(s.chunk_hits));
  EXPECT_GT(s.preemptions, 0) << "the pool was not under pressure";
  EXPECT_GT(s.chunk_evictions, 0) << "no chunk had to be evicted";

  // Idle: only cached chunks hold pages; evicting them empties the pool.
  EXPECT_EQ(s.num_free_kv_pages + s.chunk_pages, s.num_kv_pages) << "pages leaked";
  tight.chunk_registry()->evict_pages(INT_MAX);
  tight.chunk_registry()->check_invariants();
  EXPECT_EQ(tight.chunk_registry()->stats().entries, 0);
  EXPECT_EQ(tight.page_pool().num_free(), tight.page_pool().num_pages());
}

}  // namespace
}  // namespace cascade

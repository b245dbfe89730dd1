#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>

namespace cascade {
namespace {

struct Harness {
  EngineConfig config;
  std::unique_ptr<PagePool> pool;
  std::unique_ptr<PrefixCache> cache;
  std::unique_ptr<Scheduler> scheduler;
  std::vector<std::unique_ptr<Sequence>> seqs;

  explicit Harness(EngineConfig c, int num_pages, bool prefix = true) : config(c) {
    pool = std::make_unique<PagePool>(num_pages, config.page_size);
    if (prefix) cache = std::make_unique<PrefixCache>(*pool);
    scheduler = std::make_unique<Scheduler>(config, *pool, cache.get());
  }
  Sequence* add(int prompt_len, int max_tokens, int first_token = 0) {
    auto seq = std::make_unique<Sequence>();
    seq->id = static_cast<int64_t>(seqs.size());
    seq->tokens.resize(static_cast<size_t>(prompt_len));
    std::iota(seq->tokens.begin(), seq->tokens.end(), first_token);
    seq->num_prompt_tokens = prompt_len;
    seq->params.max_tokens = max_tokens;
    scheduler->add(seq.get());
    seqs.push_back(std::move(seq));
    return seqs.back().get();
  }
  // One engine step without a model: sampled tokens are 1000 + position.
  SchedulerOutput step() {
    auto out = scheduler->schedule();
    scheduler->complete(out);
    for (const auto& item : out.items) {
      if (!item.samples) continue;
      Sequence& s = *item.seq;
      s.tokens.push_back(1000 + s.num_tokens());
      if (s.num_generated() >= s.params.max_tokens) scheduler->remove(&s);
    }
    return out;
  }
  int run_to_end(int max_steps = 10000) {
    int steps = 0;
    while (scheduler->has_unfinished() && steps < max_steps) {
      const auto out = step();
      EXPECT_FALSE(out.empty()) << "scheduler made no progress at step " << steps;
      if (out.empty()) break;
      ++steps;
    }
    return steps;
  }
};

EngineConfig small_config() {
  EngineConfig c;
  c.page_size = 4;
  c.max_num_seqs = 8;
  c.max_num_batched_tokens = 64;
  return c;
}

TEST(Scheduler, RespectsMaxNumSeqsAndTokenBudget) {
  auto c = small_config();
  c.max_num_seqs = 2;
  Harness h(c, 64);
  for (int i = 0; i < 3; ++i) h.add(10, 3, 100 * i);
  const auto out = h.scheduler->schedule();
  EXPECT_EQ(out.items.size(), 2u);
  EXPECT_EQ(out.num_tokens, 20);
  EXPECT_EQ(h.scheduler->num_waiting(), 1u);
}

TEST(Scheduler, ChunkedPrefillSplitsALongPromptOverSteps) {
  auto c = small_config();
  c.max_num_batched_tokens = 16;
  Harness h(c, 64);
  Sequence* s = h.add(40, 2);
  std::vector<int> chunks;
  while (s->num_generated() == 0) chunks.push_back(h.step().items.at(0).num_new_tokens);
  EXPECT_EQ(chunks, (std::vector<int>{16, 16, 8}));
  EXPECT_EQ(h.step().items.at(0).num_new_tokens, 1);  // then decode
}

TEST(Scheduler, WithoutChunkedPrefillAPromptWaitsForAWholeBudget) {
  auto c = small_config();
  c.enable_chunked_prefill = false;
  c.max_num_batched_tokens = 16;
  Harness h(c, 64);
  h.add(12, 2);
  h.add(12, 2, 500);
  const auto out = h.scheduler->schedule();
  ASSERT_EQ(out.items.size(), 1u);
  EXPECT_EQ(out.items[0].num_new_tokens, 12);
}

TEST(Scheduler, DecodesEveryRunningSequenceEachStep) {
  Harness h(small_config(), 64);
  for (int i = 0; i < 4; ++i) h.add(5, 4, 10 * i);
  h.step();  // prefill all
  const auto out = h.step();
  ASSERT_EQ(out.items.size(), 4u);
  for (const auto& item : out.items) {
    EXPECT_EQ(item.num_new_tokens, 1);
    EXPECT_TRUE(item.samples);
  }
}

TEST(Scheduler, PreemptsTheYoungestWhenPagesRunOutAndFinishesEverything) {
  auto c = small_config();
  Harness h(c, 8);  // 32 token slots for 4 sequences that need 16 each
  for (int i = 0; i < 4; ++i) h.add(6, 10, 100 * i);
  h.run_to_end();
  EXPECT_GT(h.scheduler->num_preemptions(), 0);
  for (const auto& s : h.seqs) {
    EXPECT_EQ(s->num_generated(), 10);
    EXPECT_EQ(s->status, SequenceStatus::Finished);
  }
  EXPECT_EQ(h.pool->num_used(), 0) << "pages leaked";
}

TEST(Scheduler, ReusesPublishedPrefixPagesForALaterRequest) {
  Harness h(small_config(), 64);
  h.add(18, 1);
  h.run_to_end();
  Sequence* again = h.add(18, 1);  // the same prompt
  h.step();
  EXPECT_EQ(again->num_cached_tokens, 16);  // 4 full pages; the last token is recomputed
  EXPECT_EQ(h.cache->stats().hit_tokens, 16);
  EXPECT_EQ(h.cache->stats().queried_tokens, 36);
  h.run_to_end();
  EXPECT_EQ(h.pool->num_used(), 0);
}

TEST(Scheduler, PromptFullyCoveredByCachedPagesStillComputesItsLastToken) {
  Harness h(small_config(), 64);
  h.add(16, 1);
  h.run_to_end();
  Sequence* again = h.add(16, 1);
  const auto out = h.step();
  EXPECT_EQ(again->num_cached_tokens, 12);
  EXPECT_EQ(out.items.at(0).num_new_tokens, 4);
}

TEST(Scheduler, WithoutPrefixCachingNothingIsShared) {
  Harness h(small_config(), 64, /*prefix=*/false);
  h.add(18, 1);
  h.run_to_end();
  Sequence* again = h.add(18, 1);
  h.step();
  EXPECT_EQ(again->num_cached_tokens, 0);
}

}  // namespace
}  // namespace cascade

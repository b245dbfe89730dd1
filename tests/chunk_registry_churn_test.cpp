// Thousands of distinct short chunks through a small registry, with hits, collisions,
// rejections and aborted fills mixed in: after every call the statistics and pages stay
// consistent (ChunkRegistry::check_invariants), a pinned chunk keeps its entry, tokens and
// pages, and once everything is released and evicted the pool is empty again.
#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <vector>

#include "cache/chunk_registry.h"

namespace cascade {
namespace {

ChunkKey key_of(int64_t id) {
  ChunkKey key{};
  for (int i = 0; i < 8; ++i) key[static_cast<size_t>(i)] = static_cast<uint8_t>(id >> (8 * i));
  key[31] = 0xc5;
  return key;
}

// 1..16 tokens that depend only on the id (so a repeated id is a hit), or on `salt` too.
std::vector<int32_t> tokens_of(int64_t id, int salt) {
  std::vector<int32_t> t(static_cast<size_t>(1 + id % 16));
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>(id * 31 + salt + i);
  return t;
}

struct Held {
  ChunkEntry* entry;
  ChunkKey key;
  std::vector<int32_t> tokens, pages;
};

TEST(ChunkRegistryChurn, ThousandsOfShortChunksKeepTheInvariants) {
  PagePool pool(48, 4);
  ChunkRegistry registry(pool, 16, 0.75, 1024);
  std::mt19937 rng(11);
  std::vector<Held> held;  // pinned by the "requests" of this test
  int64_t next_id = 0, acquires = 0;
  for (int call = 0; call < 30000; ++call) {
    if (held.size() < 12 && rng() % 2 == 0) {
      // Mostly new chunks; some recent ones again (hits); a few collisions.
      const int64_t id = rng() % 4 == 0 && next_id > 0
                             ? next_id - 1 - rng() % std::min<int64_t>(next_id, 24)
                             : next_id++;
      const int salt = rng() % 64 == 0 ? 1 : 0;
      const std::vector<int32_t> tokens = tokens_of(id, salt);
      ChunkEntry* entry = registry.acquire(key_of(id), tokens, 0);
      ++acquires;
      if (entry) held.push_back({entry, key_of(id), tokens, entry->pages});
    } else if (!held.empty()) {
      const size_t i = rng() % held.size();
      // Most fills complete; the rest are aborted (released uncomputed).
      if (rng() % 5 != 0) held[i].entry->computed = true;
      registry.release(held[i].entry);
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    }
    ASSERT_NO_THROW(registry.check_invariants()) << "after call " << call;
    const ChunkRegistryStats& s = registry.stats();
    ASSERT_EQ(s.hits + s.misses + s.rejected, acquires);
    ASSERT_EQ(pool.num_used(), s.pages);  // the registry is the pool's only user here
    for (const Held& h : held) {          // pinned: never evicted, never changed
      if (h.entry->indexed) {
        ASSERT_EQ(registry.find(h.key), h.entry) << "call " << call;
      }
      ASSERT_EQ(h.entry->tokens, h.tokens);
      ASSERT_EQ(h.entry->pages, h.pages);
    }
  }
  const ChunkRegistryStats& s = registry.stats();
  std::printf(
      "churn: %lld acquires, %lld hits, %lld misses, %lld evictions, %lld dropped, "
      "%lld collisions, %lld rejected\n",
      static_cast<long long>(acquires), static_cast<long long>(s.hits),
      static_cast<long long>(s.misses), static_cast<long long>(s.evictions),
      static_cast<long long>(s.dropped), static_cast<long long>(s.collisions),
      static_cast<long long>(s.rejected));
  EXPECT_GT(next_id, 5000);  // thousands of distinct chunks went through 16 entries
  EXPECT_GT(s.evictions, 1000);
  EXPECT_GT(s.hits, 100);
  EXPECT_GT(s.collisions, 10);
  EXPECT_GT(s.dropped, 100);
  EXPECT_GT(s.rejected, 0);

  for (const Held& h : held) {
    h.entry->computed = true;
    registry.release(h.entry);
  }
  registry.evict_pages(INT_MAX);
  registry.check_invariants();
  EXPECT_EQ(s.entries, 0);
  EXPECT_EQ(s.pages, 0);
  EXPECT_EQ(s.misses, s.evictions + s.dropped);
  EXPECT_EQ(pool.num_free(), pool.num_pages());
}

}  // namespace
}  // namespace cascade

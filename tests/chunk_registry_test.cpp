#include "cache/chunk_registry.h"

#include <gtest/gtest.h>

#include <climits>
#include <numeric>

#include "expect_error.h"

namespace cascade {
namespace {

ChunkKey key_of(int id) {
  ChunkKey key{};
  key[0] = static_cast<uint8_t>(id);
  key[31] = 0x5a;
  return key;
}

std::vector<int32_t> tokens_of(int n, int start) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), start);
  return t;
}

// Acquires chunk `id` of n tokens, marks it computed and releases it: a cached, unpinned
// entry. Returns it.
ChunkEntry* cache_chunk(ChunkRegistry& registry, int id, int n) {
  ChunkEntry* entry = registry.acquire(key_of(id), tokens_of(n, 100 * id), 0);
  EXPECT_NE(entry, nullptr) << "chunk " << id;
  if (!entry) return nullptr;
  entry->computed = true;
  registry.release(entry);
  return entry;
}

TEST(ChunkRegistry, SameKeyTwiceSharesOneEntryAndItsPages) {
  PagePool pool(32, 4);
  ChunkRegistry registry(pool, 8, 1.0, 1000);
  const auto tokens = tokens_of(10, 0);
  ChunkEntry* first = registry.acquire(key_of(1), tokens, 0);
  ChunkEntry* second = registry.acquire(key_of(1), tokens, 0);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first->pins, 2);
  EXPECT_EQ(first->pages.size(), 3u);  // ceil(10 / 4)
  EXPECT_EQ(pool.num_used(), 3);
  for (const int32_t page : first->pages) EXPECT_EQ(pool.ref_count(page), 1);
  EXPECT_EQ(registry.stats().hits, 1);
  EXPECT_EQ(registry.stats().misses, 1);
  EXPECT_EQ(registry.find(key_of(1)), first);
  EXPECT_EQ(first->pins, 2);  // find does not pin
}

TEST(ChunkRegistry, KeyHitWithOtherTokensIsNotServed) {
  PagePool pool(16, 4);
  ChunkRegistry registry(pool, 8, 1.0, 0);
  ChunkEntry* cached = cache_chunk(registry, 1, 8);
  const auto other = tokens_of(8, 7);  // same key, other tokens: a forced collision
  ChunkEntry* served = registry.acquire(key_of(1), other, 0);
  ASSERT_NE(served, nullptr);
  EXPECT_NE(served, cached);
  EXPECT_EQ(served->tokens, other);
  EXPECT_FALSE(served->computed);
  EXPECT_EQ(registry.stats().collisions, 1);
  EXPECT_EQ(registry.stats().hits, 0);
  EXPECT_EQ(registry.stats().misses, 2);
  EXPECT_EQ(pool.num_used(), 4);  // both hold their own pages
  // The key still finds the original; the private entry goes away at its release.
  EXPECT_EQ(registry.find(key_of(1)), cached);
  EXPECT_EQ(registry.find(key_of(1))->tokens, tokens_of(8, 100));
  served->computed = true;
  registry.release(served);
  EXPECT_EQ(registry.find(key_of(1)), cached);
  EXPECT_EQ(registry.stats().entries, 1);
  EXPECT_EQ(pool.num_used(), 2);
}

TEST(ChunkRegistry, EvictsLeastRecentlyUsedAndATouchProtects) {
  PagePool pool(64, 4);
  ChunkRegistry registry(pool, 3, 1.0, 0);
  cache_chunk(registry, 1, 4);
  cache_chunk(registry, 2, 4);
  cache_chunk(registry, 3, 4);
  cache_chunk(registry, 1, 4);  // touch 1: now 2 is the least recently used
  cache_chunk(registry, 4, 4);
  EXPECT_EQ(registry.find(key_of(2)), nullptr);
  EXPECT_NE(registry.find(key_of(1)), nullptr);
  EXPECT_NE(registry.find(key_of(3)), nullptr);
  cache_chunk(registry, 5, 4);
  EXPECT_EQ(registry.find(key_of(3)), nullptr);
  cache_chunk(registry, 6, 4);
  EXPECT_EQ(registry.find(key_of(1)), nullptr);
  EXPECT_NE(registry.find(key_of(4)), nullptr);
  EXPECT_EQ(registry.stats().evictions, 3);
}

TEST(ChunkRegistry, PinnedEntriesSurviveAPoolSmallerThanTheWorkingSet) {
  PagePool pool(4, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  ChunkEntry* a = registry.acquire(key_of(1), tokens_of(8, 0), 0);
  ChunkEntry* b = registry.acquire(key_of(2), tokens_of(8, 50), 0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  a->computed = b->computed = true;
  EXPECT_EQ(registry.acquire(key_of(3), tokens_of(4, 90), 0), nullptr);
  EXPECT_EQ(registry.stats().rejected, 1);
  EXPECT_EQ(registry.stats().evictions, 0);
  EXPECT_EQ(registry.find(key_of(1)), a);
  EXPECT_EQ(registry.find(key_of(2)), b);
  EXPECT_EQ(pool.num_used(), 4);
  registry.release(b);
  ChunkEntry* c = registry.acquire(key_of(3), tokens_of(4, 90), 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(registry.find(key_of(2)), nullptr);  // the only unpinned entry made room
  EXPECT_EQ(registry.find(key_of(1)), a);
  EXPECT_EQ(a->pins, 1);
  EXPECT_EQ(pool.num_used(), 3);
}

TEST(ChunkRegistry, DoesNotEvictWhenEvictingEverythingUnpinnedWouldNotBeEnough) {
  PagePool pool(4, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  ChunkEntry* pinned = registry.acquire(key_of(1), tokens_of(8, 0), 0);
  ASSERT_NE(pinned, nullptr);
  cache_chunk(registry, 2, 4);
  EXPECT_EQ(registry.acquire(key_of(3), tokens_of(12, 0), 0), nullptr);  // 3 pages, 2 reachable
  EXPECT_NE(registry.find(key_of(2)), nullptr);
  EXPECT_EQ(registry.stats().evictions, 0);
}

TEST(ChunkRegistry, PagesRetainedElsewhereDoNotCountAsRoom) {
  PagePool pool(2, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  ChunkEntry* a = cache_chunk(registry, 1, 4);
  pool.retain(a->pages[0]);  // e.g. a sequence's block table still holds it
  EXPECT_EQ(registry.acquire(key_of(2), tokens_of(8, 0), 0), nullptr);
  EXPECT_NE(registry.find(key_of(1)), nullptr);
}

TEST(ChunkRegistry, EnforcesTheEntryLimit) {
  PagePool pool(64, 4);
  ChunkRegistry registry(pool, 2, 1.0, 0);
  cache_chunk(registry, 1, 4);
  cache_chunk(registry, 2, 4);
  cache_chunk(registry, 3, 4);
  EXPECT_EQ(registry.stats().entries, 2);
  EXPECT_EQ(registry.stats().evictions, 1);
  EXPECT_EQ(registry.find(key_of(1)), nullptr);
  // Both remaining pinned: a third cannot enter even with 60 free pages.
  ChunkEntry* b = registry.acquire(key_of(2), tokens_of(4, 200), 0);
  ChunkEntry* c = registry.acquire(key_of(3), tokens_of(4, 300), 0);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(registry.acquire(key_of(4), tokens_of(4, 400), 0), nullptr);
  EXPECT_EQ(registry.stats().entries, 2);
}

TEST(ChunkRegistry, EnforcesThePageRatioCap) {
  PagePool pool(10, 4);
  ChunkRegistry registry(pool, 16, 0.5, 0);
  EXPECT_EQ(registry.page_cap(), 5);
  cache_chunk(registry, 1, 12);  // 3 pages
  cache_chunk(registry, 2, 8);   // 2 pages: at the cap
  EXPECT_EQ(registry.num_pages(), 5);
  cache_chunk(registry, 3, 4);  // 1 page: the pool has 5 free, the cap forces an eviction
  EXPECT_EQ(registry.find(key_of(1)), nullptr);
  EXPECT_EQ(registry.num_pages(), 3);
  EXPECT_EQ(pool.num_used(), 3);
  test::expect_error([&] { registry.acquire(key_of(4), tokens_of(24, 0), 0); },
                     {"24 tokens", "6 pages", "chunk_page_ratio", "5 of 10"});
}

TEST(ChunkRegistry, EvictedPagesGoBackToThePool) {
  PagePool pool(16, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  cache_chunk(registry, 1, 5);
  cache_chunk(registry, 2, 16);
  cache_chunk(registry, 3, 1);
  EXPECT_EQ(pool.num_used(), 2 + 4 + 1);
  EXPECT_EQ(registry.evict_pages(1), 2);  // the least recently used entry, whole
  EXPECT_EQ(registry.find(key_of(1)), nullptr);
  EXPECT_EQ(registry.evict_pages(INT_MAX), 5);
  EXPECT_EQ(pool.num_used(), 0);
  EXPECT_EQ(registry.num_pages(), 0);
  EXPECT_EQ(registry.stats().entries, 0);
  EXPECT_EQ(registry.stats().evictions, 3);
}

TEST(ChunkRegistry, StoresCanonicalStartAndRejectsAMismatchedHit) {
  PagePool pool(16, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  ChunkEntry* entry = registry.acquire(key_of(1), tokens_of(4, 0), 37);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->canonical_start, 37);
  EXPECT_EQ(registry.acquire(key_of(1), tokens_of(4, 0), 37), entry);
  test::expect_error([&] { registry.acquire(key_of(1), tokens_of(4, 0), 12); },
                     {"position 37", "requested at 12"});
}

TEST(ChunkRegistry, ReleasedUncomputedEntriesAreDropped) {
  PagePool pool(16, 4);
  ChunkRegistry registry(pool, 16, 1.0, 0);
  ChunkEntry* entry = registry.acquire(key_of(1), tokens_of(8, 0), 0);
  ASSERT_NE(entry, nullptr);
  registry.release(entry);  // its prefill never finished
  EXPECT_EQ(registry.find(key_of(1)), nullptr);
  EXPECT_EQ(pool.num_used(), 0);
  EXPECT_EQ(registry.stats().dropped, 1);
  // While another request still holds it, an uncomputed entry stays (that one fills it).
  entry = registry.acquire(key_of(1), tokens_of(8, 0), 0);
  ASSERT_EQ(registry.acquire(key_of(1), tokens_of(8, 0), 0), entry);
  registry.release(entry);
  EXPECT_EQ(registry.find(key_of(1)), entry);
  entry->computed = true;
  registry.release(entry);
  EXPECT_EQ(registry.find(key_of(1)), entry);
  EXPECT_EQ(pool.num_used(), 2);
  test::expect_error([&] { registry.release(entry); }, {"released more often than acquired"});
}

TEST(ChunkRegistry, StatsFollowAScriptedScenario) {
  PagePool pool(8, 16);
  ChunkRegistry registry(pool, 3, 0.75, 4096);                        // cap: 6 pages
  ChunkEntry* a = registry.acquire(key_of(1), tokens_of(40, 0), 0);   // 3 pages, miss
  ChunkEntry* b = registry.acquire(key_of(2), tokens_of(16, 0), 40);  // 1 page, miss
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  a->computed = b->computed = true;
  EXPECT_EQ(registry.acquire(key_of(1), tokens_of(40, 0), 0), a);  // hit
  registry.release(a);
  registry.release(a);
  registry.release(b);
  EXPECT_EQ(registry.acquire(key_of(2), tokens_of(16, 0), 40), b);    // hit, b pinned again
  ChunkEntry* c = registry.acquire(key_of(3), tokens_of(48, 0), 56);  // 3 pages: evicts a
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(registry.acquire(key_of(4), tokens_of(40, 0), 0), nullptr);  // b, c pinned: 7 > 6
  EXPECT_EQ(registry.acquire(key_of(5), tokens_of(33, 0), 0), nullptr);  // 4 + 3 > cap 6
  registry.release(c);                                                   // uncomputed: dropped
  const ChunkRegistryStats& s = registry.stats();
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.pages, 1);
  EXPECT_EQ(s.bytes, 4096);
  EXPECT_EQ(s.hits, 2);
  EXPECT_EQ(s.misses, 3);
  EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(s.rejected, 2);
  EXPECT_EQ(s.collisions, 0);
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(pool.num_used(), 1);
}

TEST(ChunkRegistry, RejectsBadSettings) {
  PagePool pool(10, 4);
  test::expect_error([&] { ChunkRegistry(pool, 0, 0.5, 0); }, {"chunk_registry_size", "0"});
  test::expect_error([&] { ChunkRegistry(pool, 4, 1.5, 0); }, {"chunk_page_ratio", "(0, 1]"});
  test::expect_error([&] { ChunkRegistry(pool, 4, 0.05, 0); }, {"chunk_page_ratio", "no page"});
  ChunkRegistry registry(pool, 4, 0.5, 0);
  test::expect_error([&] { registry.acquire(key_of(1), {}, 0); }, {"no tokens"});
}

}  // namespace
}  // namespace cascade

#include "cache/prefix_cache.h"

#include <gtest/gtest.h>

#include <numeric>

namespace cascade {
namespace {

std::vector<int32_t> iota_tokens(int n, int start = 0) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), start);
  return t;
}

// Publishes `tokens` page by page into freshly allocated pages; returns them.
std::vector<int32_t> publish_all(PagePool& pool, PrefixCache& cache,
                                 const std::vector<int32_t>& tokens) {
  std::vector<int32_t> pages;
  uint64_t parent = PrefixCache::kRootHash;
  const size_t ps = static_cast<size_t>(pool.page_size());
  for (size_t i = 0; i + ps <= tokens.size(); i += ps) {
    std::span<const int32_t> piece(tokens.data() + i, ps);
    const int32_t page = pool.allocate();
    parent = PrefixCache::page_hash(parent, piece);
    cache.publish(parent, page, piece);
    pages.push_back(page);
  }
  return pages;
}

TEST(PrefixCache, FindsThePublishedPrefixAndStopsAtTheFirstDifference) {
  PagePool pool(16, 4);
  PrefixCache cache(pool);
  const auto tokens = iota_tokens(12);
  const auto pages = publish_all(pool, cache, tokens);
  auto query = tokens;
  query[9] = 999;  // third page differs
  std::vector<uint64_t> hashes;
  const auto hit = cache.match(query, 3, &hashes);
  EXPECT_EQ(hit, (std::vector<int32_t>{pages[0], pages[1]}));
  EXPECT_EQ(hashes.size(), 2u);
  EXPECT_EQ(pool.ref_count(pages[0]), 2);
  EXPECT_EQ(cache.stats().hit_tokens, 0);  // counted only when a sequence is admitted
  cache.count_admission(12, 8);
  EXPECT_EQ(cache.stats().hit_tokens, 8);
  EXPECT_EQ(cache.stats().queried_tokens, 12);
}

TEST(PrefixCache, SamePageContentAfterADifferentParentIsNotAHit) {
  PagePool pool(16, 4);
  PrefixCache cache(pool);
  publish_all(pool, cache, iota_tokens(8));
  std::vector<int32_t> query = {100, 101, 102, 103, 4, 5, 6, 7};
  EXPECT_TRUE(cache.match(query, 2, nullptr).empty());
}

TEST(PrefixCache, RespectsMaxPages) {
  PagePool pool(16, 4);
  PrefixCache cache(pool);
  publish_all(pool, cache, iota_tokens(12));
  EXPECT_EQ(cache.match(iota_tokens(12), 1, nullptr).size(), 1u);
}

TEST(PrefixCache, FreedPagesStayCachedUntilReused) {
  PagePool pool(3, 4);
  PrefixCache cache(pool);
  const auto pages = publish_all(pool, cache, iota_tokens(8));
  for (int32_t p : pages) pool.release(p);
  auto hit = cache.match(iota_tokens(8), 2, nullptr);  // revives both
  EXPECT_EQ(hit, pages);
  for (int32_t p : hit) pool.release(p);
  // Allocating every page reuses the cached ones and forgets them.
  for (int i = 0; i < 3; ++i) EXPECT_GE(pool.allocate(), 0);
  EXPECT_TRUE(cache.match(iota_tokens(8), 2, nullptr).empty());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().evicted_pages, 2);
}

TEST(PrefixCache, AHashCollisionIsCaughtByTheTokenComparison) {
  PagePool pool(4, 4);
  PrefixCache cache(pool);
  const auto tokens = iota_tokens(4);
  const int32_t page = pool.allocate();
  // Publish page under the hash of `tokens` but with other content: a forced collision.
  const uint64_t hash = PrefixCache::page_hash(PrefixCache::kRootHash, tokens);
  const std::vector<int32_t> other = {9, 9, 9, 9};
  cache.publish(hash, page, other);
  EXPECT_TRUE(cache.match(tokens, 1, nullptr).empty());
}

}  // namespace
}  // namespace cascade

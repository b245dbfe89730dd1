// TokenizedTextCache: a text is tokenized once while it stays in the cache, the tokens are
// the tokenizer's, the least recently used texts go first, and nothing over the budget is
// kept.
#include <gtest/gtest.h>

#include "engine/tokenized_text_cache.h"
#include "test_paths.h"

namespace cascade {
namespace {

const Tokenizer& tiny_tokenizer() {
  static const Tokenizer tokenizer =
      Tokenizer::load(std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3");
  return tokenizer;
}

std::string document(int i) {
  return "Document: Crystalton number " + std::to_string(i) + " lies in Nebulonia.\n\n";
}

TEST(TokenizedTextCache, SecondUseIsAHitWithTheSameTokens) {
  const Tokenizer& tok = tiny_tokenizer();
  TokenizedTextCache cache(1000);
  const auto first = cache.encode(document(1), tok);
  EXPECT_EQ(*first, tok.encode(document(1)));
  const auto again = cache.encode(document(1), tok);
  EXPECT_EQ(again.get(), first.get());  // served, not re-tokenized
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(cache.misses(), 1);
  EXPECT_EQ(cache.tokens(), static_cast<int64_t>(first->size()));
  const auto other = cache.encode(document(2), tok);
  EXPECT_EQ(*other, tok.encode(document(2)));
  EXPECT_EQ(cache.misses(), 2);
}

TEST(TokenizedTextCache, LeastRecentlyUsedGoFirstWithinTheTokenBudget) {
  const Tokenizer& tok = tiny_tokenizer();
  const auto per_doc = static_cast<int64_t>(tok.encode(document(1)).size());
  ASSERT_EQ(static_cast<int64_t>(tok.encode(document(2)).size()), per_doc);
  TokenizedTextCache cache(3 * per_doc);
  for (int i = 1; i <= 3; ++i) cache.encode(document(i), tok);
  cache.encode(document(1), tok);  // 1 is now the most recent; 2 the least
  cache.encode(document(4), tok);  // evicts 2
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_LE(cache.tokens(), 3 * per_doc);
  const int64_t misses = cache.misses();
  cache.encode(document(1), tok);
  cache.encode(document(3), tok);
  cache.encode(document(4), tok);
  EXPECT_EQ(cache.misses(), misses);  // all three still cached
  cache.encode(document(2), tok);
  EXPECT_EQ(cache.misses(), misses + 1);  // 2 had been evicted
}

TEST(TokenizedTextCache, TextLargerThanTheCacheIsEncodedButNotKept) {
  const Tokenizer& tok = tiny_tokenizer();
  TokenizedTextCache cache(4);
  const auto tokens = cache.encode(document(7), tok);
  EXPECT_EQ(*tokens, tok.encode(document(7)));
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.tokens(), 0);
}

}  // namespace
}  // namespace cascade

// Prefix caching over full pages (nano-vllm's chained block hashes). A full page of a
// sequence is published under hash(parent page's hash, its tokens); a new sequence walks
// its prompt page by page and reuses every page found, confirmed by comparing token ids,
// so a hash collision can never serve wrong KV.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "cache/page_pool.h"

namespace cascade {

struct PrefixCacheStats {
  int64_t queried_tokens = 0;  // prompt tokens looked up
  int64_t hit_tokens = 0;      // of those, served from cached pages
  int64_t published_pages = 0;
  int64_t evicted_pages = 0;
};

class PrefixCache {
 public:
  static constexpr uint64_t kRootHash = 0x6361736361646521ull;

  explicit PrefixCache(PagePool& pool);
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  static uint64_t page_hash(uint64_t parent_hash, std::span<const int32_t> tokens);

  // Longest run of cached full pages that starts `tokens`, at most `max_pages` of them.
  // Each returned page is retained for the caller. `hashes` receives their chain hashes.
  // `root` seeds the chain: kRootHash for a plain prompt, a hash of the context chunks
  // for tokens that follow chunks (their KV depends on them).
  std::vector<int32_t> match(std::span<const int32_t> tokens, int max_pages,
                             std::vector<uint64_t>* hashes, uint64_t root = kRootHash);

  // Counts one admitted sequence in the statistics (a match that was given back because
  // the sequence could not be admitted yet is not counted).
  void count_admission(int prompt_tokens, int hit_tokens);

  // Offers a full page of `tokens` (page_size of them) under `hash`. When the hash is
  // already served by another page the cache keeps that one.
  void publish(uint64_t hash, int32_t page, std::span<const int32_t> tokens);

  const PrefixCacheStats& stats() const { return stats_; }
  size_t size() const { return page_of_hash_.size(); }

 private:
  PagePool& pool_;
  std::unordered_map<uint64_t, int32_t> page_of_hash_;
  std::vector<uint64_t> hash_of_page_;
  std::vector<uint8_t> has_hash_;
  std::vector<int32_t> tokens_;  // [num_pages, page_size]: the tokens each cached page holds
  PrefixCacheStats stats_;

  void forget(int32_t page);
};

}  // namespace cascade

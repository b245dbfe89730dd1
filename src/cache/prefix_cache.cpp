#include "cache/prefix_cache.h"

#include <xxhash.h>

#include <algorithm>

#include "base/error.h"

namespace cascade {

PrefixCache::PrefixCache(PagePool& pool)
    : pool_(pool),
      hash_of_page_(static_cast<size_t>(pool.num_pages()), 0),
      has_hash_(static_cast<size_t>(pool.num_pages()), 0),
      tokens_(static_cast<size_t>(pool.num_pages()) * static_cast<size_t>(pool.page_size()), 0) {
  pool_.set_on_reuse([this](int page) { forget(page); });
}

uint64_t PrefixCache::page_hash(uint64_t parent_hash, std::span<const int32_t> tokens) {
  return XXH3_64bits_withSeed(tokens.data(), tokens.size_bytes(), parent_hash);
}

std::vector<int32_t> PrefixCache::match(std::span<const int32_t> tokens, int max_pages,
                                        std::vector<uint64_t>* hashes, uint64_t root) {
  const auto page_size = static_cast<size_t>(pool_.page_size());
  std::vector<int32_t> pages;
  uint64_t parent = root;
  for (int i = 0; i < max_pages; ++i) {
    const auto piece = tokens.subspan(static_cast<size_t>(i) * page_size, page_size);
    const uint64_t hash = page_hash(parent, piece);
    const auto it = page_of_hash_.find(hash);
    if (it == page_of_hash_.end()) break;
    const int32_t page = it->second;
    const auto* cached = tokens_.data() + static_cast<size_t>(page) * page_size;
    if (!std::equal(piece.begin(), piece.end(), cached)) break;  // hash collision
    pool_.retain(page);
    pages.push_back(page);
    if (hashes) hashes->push_back(hash);
    parent = hash;
  }
  return pages;
}

void PrefixCache::count_admission(int prompt_tokens, int hit_tokens) {
  stats_.queried_tokens += prompt_tokens;
  stats_.hit_tokens += hit_tokens;
}

void PrefixCache::publish(uint64_t hash, int32_t page, std::span<const int32_t> tokens) {
  const auto p = static_cast<size_t>(page);
  const auto page_size = static_cast<size_t>(pool_.page_size());
  check(tokens.size() == page_size, "prefix cache: only full pages can be published");
  if (has_hash_[p] || page_of_hash_.count(hash)) return;
  page_of_hash_.emplace(hash, page);
  hash_of_page_[p] = hash;
  has_hash_[p] = 1;
  std::copy(tokens.begin(), tokens.end(), tokens_.begin() + static_cast<ptrdiff_t>(p * page_size));
  ++stats_.published_pages;
}

void PrefixCache::forget(int32_t page) {
  const auto p = static_cast<size_t>(page);
  if (!has_hash_[p]) return;
  page_of_hash_.erase(hash_of_page_[p]);
  has_hash_[p] = 0;
  ++stats_.evicted_pages;
}

}  // namespace cascade

#include "cache/chunk_registry.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/error.h"

namespace cascade {

ChunkRegistry::ChunkRegistry(PagePool& pool, int max_entries, double max_page_ratio,
                             int64_t bytes_per_page)
    : pool_(pool), max_entries_(max_entries), page_cap_(0), bytes_per_page_(bytes_per_page) {
  check(max_entries > 0,
        "chunk_registry_size must be > 0 (got " + std::to_string(max_entries) + ")");
  check(max_page_ratio > 0.0 && max_page_ratio <= 1.0,
        "chunk_page_ratio must be in (0, 1] (got " + std::to_string(max_page_ratio) + ")");
  check(bytes_per_page >= 0, "chunk registry: bytes_per_page must be >= 0");
  // The epsilon keeps products like 0.29 * 100 from rounding down a whole page.
  page_cap_ = static_cast<int>(std::floor(max_page_ratio * pool.num_pages() + 1e-9));
  check(page_cap_ > 0, "chunk_page_ratio " + std::to_string(max_page_ratio) + " of " +
                           std::to_string(pool.num_pages()) +
                           " KV pages leaves no page for chunks");
}

ChunkEntry* ChunkRegistry::acquire(const ChunkKey& key, std::span<const int32_t> tokens,
                                   int canonical_start) {
  check(!tokens.empty(), "chunk registry: chunk " + to_hex(key) + " has no tokens");
  check(canonical_start >= 0, "chunk registry: canonical_start must be >= 0 (got " +
                                  std::to_string(canonical_start) + ")");
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return create(key, tokens, canonical_start, /*indexed=*/true);
  ChunkEntry* entry = it->second.get();
  if (!std::equal(tokens.begin(), tokens.end(), entry->tokens.begin(), entry->tokens.end())) {
    ++stats_.collisions;  // never serve KV computed for other tokens
    return create(key, tokens, canonical_start, /*indexed=*/false);
  }
  check(entry->canonical_start == canonical_start,
        "chunk registry: chunk " + to_hex(key) + " is cached at position " +
            std::to_string(entry->canonical_start) + " but requested at " +
            std::to_string(canonical_start) + " (its key must cover its parent chain)");
  if (entry->pins++ == 0) lru_.erase(entry->lru_slot);
  ++stats_.hits;
  return entry;
}

void ChunkRegistry::release(ChunkEntry* entry) {
  check(entry != nullptr && entry->pins > 0,
        "chunk registry: chunk released more often than acquired");
  if (--entry->pins > 0) return;
  if (!entry->computed || !entry->indexed) {
    ++stats_.dropped;
    destroy(entry);
    return;
  }
  entry->lru_slot = lru_.insert(lru_.end(), entry);
}

ChunkEntry* ChunkRegistry::find(const ChunkKey& key) {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second.get();
}

int ChunkRegistry::evict_pages(int wanted) {
  int freed = 0;
  while (freed < wanted && !lru_.empty()) freed += evict_least_recent();
  return freed;
}

int ChunkRegistry::evict_least_recent() {
  ChunkEntry* victim = lru_.front();
  check(victim->pins == 0, "chunk registry: a pinned chunk is in the LRU list (internal error)");
  lru_.pop_front();
  ++stats_.evictions;
  return destroy(victim);
}

bool ChunkRegistry::fits(int entries, int pages, int free_pages, int new_pages) const {
  return entries < max_entries_ && pages + new_pages <= page_cap_ && new_pages <= free_pages;
}

bool ChunkRegistry::make_room(int new_pages) {
  // First check that evicting every unpinned entry would be enough, so that a chunk that
  // cannot fit now does not empty the cache for nothing. A page someone else still
  // retains leaves the registry on eviction but does not become free.
  int unpinned_pages = 0, freeable_pages = 0;
  for (const ChunkEntry* entry : lru_) {
    unpinned_pages += static_cast<int>(entry->pages.size());
    for (const int32_t page : entry->pages) freeable_pages += pool_.ref_count(page) == 1;
  }
  const int entries = static_cast<int>(stats_.entries);
  if (!fits(entries - static_cast<int>(lru_.size()), num_pages() - unpinned_pages,
            pool_.num_free() + freeable_pages, new_pages))
    return false;
  const auto fits_now = [&] {
    return fits(static_cast<int>(stats_.entries), num_pages(), pool_.num_free(), new_pages);
  };
  while (!fits_now() && !lru_.empty()) evict_least_recent();
  return fits_now();
}

ChunkEntry* ChunkRegistry::create(const ChunkKey& key, std::span<const int32_t> tokens,
                                  int canonical_start, bool indexed) {
  const size_t page_size = static_cast<size_t>(pool_.page_size());
  const int new_pages = static_cast<int>((tokens.size() + page_size - 1) / page_size);
  check(new_pages <= page_cap_,
        "chunk registry: a chunk of " + std::to_string(tokens.size()) + " tokens needs " +
            std::to_string(new_pages) + " pages but chunk_page_ratio allows " +
            std::to_string(page_cap_) + " of " + std::to_string(pool_.num_pages()) + " KV pages");
  if (!make_room(new_pages)) {
    ++stats_.rejected;
    return nullptr;
  }
  auto owned = std::make_unique<ChunkEntry>();
  ChunkEntry* entry = owned.get();
  entry->key = key;
  entry->tokens.assign(tokens.begin(), tokens.end());
  entry->canonical_start = canonical_start;
  entry->pins = 1;
  entry->indexed = indexed;
  for (int i = 0; i < new_pages; ++i) {
    const int page = pool_.allocate();
    check(page >= 0, "chunk registry: page pool ran out after making room (internal error)");
    entry->pages.push_back(page);
  }
  if (indexed)
    by_key_.emplace(key, std::move(owned));
  else
    private_.emplace(entry, std::move(owned));
  ++stats_.misses;
  ++stats_.entries;
  stats_.pages += new_pages;
  stats_.bytes = stats_.pages * bytes_per_page_;
  return entry;
}

int ChunkRegistry::destroy(ChunkEntry* entry) {
  int freed = 0;
  for (const int32_t page : entry->pages) {
    pool_.release(page);
    freed += pool_.ref_count(page) == 0;
  }
  --stats_.entries;
  stats_.pages -= static_cast<int64_t>(entry->pages.size());
  stats_.bytes = stats_.pages * bytes_per_page_;
  if (entry->indexed)
    by_key_.erase(ChunkKey(entry->key));  // a copy: erasing destroys entry->key
  else
    private_.erase(entry);
  return freed;
}

}  // namespace cascade

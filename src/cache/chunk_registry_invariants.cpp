// ChunkRegistry::check_invariants: what must hold between any two calls, derived from how
// acquire, release and eviction move entries and pages.
#include <set>
#include <string>

#include "base/error.h"
#include "cache/chunk_registry.h"

namespace cascade {

void ChunkRegistry::check_invariants() const {
  const auto fail_unless = [](bool ok, const std::string& what) {
    check(ok, "chunk registry invariant broken: " + what);
  };
  const auto count = [](int64_t n) { return std::to_string(n); };
  const ChunkRegistryStats& s = stats_;
  const auto live = static_cast<int64_t>(by_key_.size() + private_.size());
  fail_unless(s.entries == live,
              "stats.entries " + count(s.entries) + " but " + count(live) + " live entries");
  fail_unless(s.entries <= max_entries_,
              "entries " + count(s.entries) + " over the limit " + count(max_entries_));
  // Every entry is created by a miss and leaves by an eviction or a drop.
  fail_unless(s.entries == s.misses - s.evictions - s.dropped,
              "entries " + count(s.entries) + " != misses " + count(s.misses) + " - evictions " +
                  count(s.evictions) + " - dropped " + count(s.dropped));
  fail_unless(s.collisions <= s.misses, "more collisions than misses");

  int64_t pages = 0, unpinned = 0;
  std::set<int32_t> held;
  const auto check_entry = [&](const ChunkEntry& e, bool indexed) {
    const std::string which = "chunk " + to_hex(e.key);
    fail_unless(e.indexed == indexed, which + " is in the wrong map");
    fail_unless(e.pins >= 0, which + " has negative pins");
    fail_unless(e.pins > 0 || (e.computed && e.indexed),
                which + " is unpinned but uncomputed or private (it should have been dropped)");
    unpinned += e.pins == 0;
    const auto page_size = static_cast<size_t>(pool_.page_size());
    fail_unless(e.pages.size() == (e.tokens.size() + page_size - 1) / page_size,
                which + " holds " + count(static_cast<int64_t>(e.pages.size())) + " pages for " +
                    count(static_cast<int64_t>(e.tokens.size())) + " tokens");
    for (const int32_t page : e.pages) {
      fail_unless(page >= 0 && page < pool_.num_pages() && pool_.ref_count(page) >= 1,
                  which + " holds page " + count(page) + ", which is not retained");
      fail_unless(held.insert(page).second, "page " + count(page) + " is in two entries");
    }
    pages += static_cast<int64_t>(e.pages.size());
  };
  for (const auto& [key, entry] : by_key_) {
    fail_unless(entry->key == key, "an entry is filed under another key");
    check_entry(*entry, true);
  }
  for (const auto& [ptr, entry] : private_) check_entry(*entry, false);
  fail_unless(s.pages == pages,
              "stats.pages " + count(s.pages) + " but entries hold " + count(pages));
  fail_unless(s.pages <= page_cap_,
              "pages " + count(s.pages) + " over the cap " + count(page_cap_));
  fail_unless(s.bytes == s.pages * bytes_per_page_, "stats.bytes != pages * bytes_per_page");
  // The LRU list, the only source of victims, holds exactly the unpinned entries.
  fail_unless(static_cast<int64_t>(lru_.size()) == unpinned,
              "LRU list has " + count(static_cast<int64_t>(lru_.size())) + " entries but " +
                  count(unpinned) + " are unpinned");
  std::set<const ChunkEntry*> in_lru;
  for (const ChunkEntry* entry : lru_) {
    fail_unless(in_lru.insert(entry).second, "chunk " + to_hex(entry->key) + " is twice in LRU");
    fail_unless(entry->pins == 0, "pinned chunk " + to_hex(entry->key) + " is evictable");
  }
}

}  // namespace cascade

// The cache of context chunks: maps chunk keys to the KV pages that hold them.
//
// A chunk starts on a page boundary and owns its pages (taken from the one PagePool,
// ref count 1 held here). Entries used by a running or waiting request are pinned and
// never evicted; the others sit in an LRU list and are evicted, least recently released
// first, when a new chunk needs room under the entry limit (chunk_registry_size), the
// page cap (chunk_page_ratio of the pool) or the pool's free pages.
//
// Rules:
// - A key hit is confirmed by comparing token ids. On a mismatch (a collision, or a
//   caller bug) the cached entry is not served: the request gets a private entry that
//   find() never returns and that is dropped at its last release.
// - An entry is created uncomputed; the engine sets `computed` after the prefill that
//   writes its KV. A hit may return an uncomputed entry (another request is still
//   filling it); the caller then waits or fills it itself.
// - An entry released with no pins left and never computed is dropped at once: its pages
//   hold garbage (its prefill was aborted or preempted), and keeping it would serve that
//   garbage to the next hit.
// Single-threaded: the engine loop owns the registry.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "cache/chunk_key.h"
#include "cache/page_pool.h"

namespace cascade {

struct ChunkEntry {
  ChunkKey key{};
  std::vector<int32_t> tokens;  // kept to confirm hits
  std::vector<int32_t> pages;   // ceil(tokens / page_size) pages, owned by the registry
  int canonical_start = 0;      // position of the first token (length of the parent chain)
  int filled = 0;               // leading tokens whose KV is written (chunked prefill)
  bool computed = false;        // all KV written; set by the engine
  int pins = 0;                 // requests using it; pinned entries are never evicted

  bool indexed = true;                          // false: a collision's private entry
  std::list<ChunkEntry*>::iterator lru_slot{};  // valid while unpinned
};

struct ChunkRegistryStats {
  int64_t entries = 0;     // live entries (private ones included)
  int64_t pages = 0;       // pool pages they hold
  int64_t bytes = 0;       // pages * bytes_per_page
  int64_t hits = 0;        // acquires served by a cached entry
  int64_t misses = 0;      // acquires that created an entry (collisions included)
  int64_t evictions = 0;   // entries evicted to make room (LRU)
  int64_t rejected = 0;    // acquires that returned nullptr (no room among unpinned entries)
  int64_t collisions = 0;  // key found with other tokens
  int64_t dropped = 0;     // entries released uncomputed, or private entries released
};

class ChunkRegistry {
 public:
  // max_entries: chunk_registry_size; max_page_ratio: chunk_page_ratio, in (0, 1].
  ChunkRegistry(PagePool& pool, int max_entries, double max_page_ratio, int64_t bytes_per_page);
  ChunkRegistry(const ChunkRegistry&) = delete;
  ChunkRegistry& operator=(const ChunkRegistry&) = delete;

  // Pins and returns the entry for (key, tokens), creating it when absent. Returns nullptr
  // when the new chunk does not fit even after evicting every unpinned entry (then nothing
  // is evicted or leaked; the caller retries after some release). Throws Error when the
  // chunk could never fit (more pages than the chunk page cap), when tokens is empty, or
  // when a hit's canonical_start differs from the stored one (a wrongly built key).
  ChunkEntry* acquire(const ChunkKey& key, std::span<const int32_t> tokens, int canonical_start);

  // Unpins; at zero pins a computed entry becomes the most recently used, an uncomputed
  // or private one is dropped (`entry` is then invalid).
  void release(ChunkEntry* entry);

  // No pin, no stats; nullptr when absent.
  ChunkEntry* find(const ChunkKey& key);

  // Evicts unpinned entries, least recently used first, until at least `wanted` pages
  // went back to the pool or none is left (for requests short of pages). Returns the
  // number of pages that went back.
  int evict_pages(int wanted);

  // Throws Error naming the first broken invariant; linear in entries and pages, for tests
  // to call between steps (chunk_registry_invariants.cpp lists what is checked).
  void check_invariants() const;

  const ChunkRegistryStats& stats() const { return stats_; }
  int num_pages() const { return static_cast<int>(stats_.pages); }
  int page_cap() const { return page_cap_; }
  int max_entries() const { return max_entries_; }

 private:
  PagePool& pool_;
  int max_entries_;
  int page_cap_;
  int64_t bytes_per_page_;
  std::unordered_map<ChunkKey, std::unique_ptr<ChunkEntry>, ChunkKeyHash> by_key_;
  std::unordered_map<ChunkEntry*, std::unique_ptr<ChunkEntry>> private_;
  std::list<ChunkEntry*> lru_;  // unpinned entries, front = least recently used
  ChunkRegistryStats stats_;

  bool fits(int entries, int pages, int free_pages, int new_pages) const;
  bool make_room(int new_pages);
  ChunkEntry* create(const ChunkKey& key, std::span<const int32_t> tokens, int canonical_start,
                     bool indexed);
  int evict_least_recent();        // returns how many pages went to the free list
  int destroy(ChunkEntry* entry);  // gives its pages back; returns how many went to the free list
};

}  // namespace cascade

// The one pool of KV pages. Pages are ref-counted: a page shared by several sequences
// (a cached prefix) is freed when the last one lets go. Freed pages keep their content
// and sit in an LRU free list, so a later prefix hit can revive them; allocation takes
// the least recently freed page and tells the owner of its old content (eviction hook).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace cascade {

class PagePool {
 public:
  PagePool(int num_pages, int page_size);

  int num_pages() const { return static_cast<int>(ref_count_.size()); }
  int page_size() const { return page_size_; }
  int num_free() const { return free_count_; }  // includes freed pages that still hold content
  int num_used() const { return num_pages() - free_count_; }

  // Takes the least recently freed page (ref count 1); -1 when none is free.
  int allocate();
  // Another holder of `page`; revives it when it was free (ref count 0).
  void retain(int page);
  // Drops one holder; at zero the page joins the free list (most recently freed).
  void release(int page);
  int ref_count(int page) const { return ref_count_.at(static_cast<size_t>(page)); }

  // Called with a free page just before allocate() hands it out for new content.
  void set_on_reuse(std::function<void(int page)> hook) { on_reuse_ = std::move(hook); }

 private:
  int page_size_;
  std::vector<int32_t> ref_count_;
  // Doubly linked LRU list of free pages in arrays: head = least recently freed.
  std::vector<int32_t> prev_, next_;
  int32_t head_ = -1, tail_ = -1;
  int free_count_ = 0;
  std::function<void(int)> on_reuse_;

  void link_back(int32_t page);
  void unlink(int32_t page);
};

}  // namespace cascade

#include "cache/page_pool.h"

#include <string>

#include "base/error.h"

namespace cascade {

PagePool::PagePool(int num_pages, int page_size)
    : page_size_(page_size),
      ref_count_(static_cast<size_t>(num_pages), 0),
      prev_(static_cast<size_t>(num_pages), -1),
      next_(static_cast<size_t>(num_pages), -1) {
  check(num_pages > 0, "num_kv_pages must be > 0 (got " + std::to_string(num_pages) + ")");
  check(page_size > 0, "page_size must be > 0 (got " + std::to_string(page_size) + ")");
  for (int32_t p = 0; p < num_pages; ++p) link_back(p);
}

void PagePool::link_back(int32_t page) {
  const auto i = static_cast<size_t>(page);
  prev_[i] = tail_;
  next_[i] = -1;
  if (tail_ >= 0)
    next_[static_cast<size_t>(tail_)] = page;
  else
    head_ = page;
  tail_ = page;
  ++free_count_;
}

void PagePool::unlink(int32_t page) {
  const auto i = static_cast<size_t>(page);
  if (prev_[i] >= 0)
    next_[static_cast<size_t>(prev_[i])] = next_[i];
  else
    head_ = next_[i];
  if (next_[i] >= 0)
    prev_[static_cast<size_t>(next_[i])] = prev_[i];
  else
    tail_ = prev_[i];
  prev_[i] = next_[i] = -1;
  --free_count_;
}

int PagePool::allocate() {
  if (head_ < 0) return -1;
  const int32_t page = head_;
  unlink(page);
  if (on_reuse_) on_reuse_(page);
  ref_count_[static_cast<size_t>(page)] = 1;
  return page;
}

void PagePool::retain(int page) {
  auto& count = ref_count_.at(static_cast<size_t>(page));
  if (count == 0) unlink(page);
  ++count;
}

void PagePool::release(int page) {
  auto& count = ref_count_.at(static_cast<size_t>(page));
  check(count > 0, "page " + std::to_string(page) + " released more often than retained");
  if (--count == 0) link_back(page);
}

}  // namespace cascade

#include "engine/scheduler.h"

#include <algorithm>
#include <span>

namespace cascade {

Scheduler::Scheduler(const EngineConfig& config, PagePool& pool, PrefixCache* prefix_cache)
    : max_num_seqs_(config.max_num_seqs),
      max_num_batched_tokens_(config.max_num_batched_tokens),
      chunked_prefill_(config.enable_chunked_prefill),
      pool_(pool),
      prefix_cache_(prefix_cache) {}

void Scheduler::add(Sequence* seq) {
  seq->status = SequenceStatus::Waiting;
  waiting_.push_back(seq);
}

bool Scheduler::reserve_pages(Sequence& seq, int num_new_tokens) {
  const int page_size = pool_.page_size();
  const int needed_pages = (seq.num_computed_tokens + num_new_tokens + page_size - 1) / page_size;
  const int missing = needed_pages - static_cast<int>(seq.pages.size());
  if (missing <= 0) return true;
  if (missing > pool_.num_free()) return false;
  for (int i = 0; i < missing; ++i) seq.pages.push_back(pool_.allocate());
  return true;
}

void Scheduler::release_pages(Sequence& seq) {
  for (int32_t page : seq.pages) pool_.release(page);
  seq.pages.clear();
  seq.num_computed_tokens = 0;
  seq.num_published_pages = 0;
  seq.last_published_hash = PrefixCache::kRootHash;
}

void Scheduler::match_prefix(Sequence& seq) {
  if (!prefix_cache_ || seq.num_computed_tokens > 0) return;
  // The last token is always computed, so that the step yields its logits and never
  // writes into a page another sequence shares.
  const int max_pages = (seq.num_tokens() - 1) / pool_.page_size();
  std::vector<uint64_t> hashes;
  seq.pages = prefix_cache_->match(seq.tokens, max_pages, &hashes);
  seq.num_computed_tokens = static_cast<int>(seq.pages.size()) * pool_.page_size();
  seq.num_published_pages = static_cast<int>(seq.pages.size());
  if (!hashes.empty()) seq.last_published_hash = hashes.back();
  if (seq.num_preemptions == 0) seq.num_cached_tokens = seq.num_computed_tokens;
}

void Scheduler::preempt(Sequence& seq) {
  release_pages(seq);
  seq.status = SequenceStatus::Waiting;
  ++seq.num_preemptions;
  ++num_preemptions_;
  running_.erase(std::find(running_.begin(), running_.end(), &seq));
  waiting_.push_front(&seq);
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  int budget = max_num_batched_tokens_;
  bool preempted = false;

  // Running sequences first, oldest first; the youngest gives its pages up when needed.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& seq = *running_[i];
    const int n = std::min(seq.num_uncomputed(), budget);
    bool scheduled = true;
    while (!reserve_pages(seq, n)) {
      Sequence& victim = *running_.back();
      preempt(victim);
      preempted = true;
      if (&victim == &seq) {
        scheduled = false;
        break;
      }
    }
    if (!scheduled) break;
    out.items.push_back({&seq, n, n == seq.num_uncomputed()});
    budget -= n;
    ++i;
  }

  // Then admit waiting sequences, in order, unless this step already ran short of pages.
  while (!preempted && !waiting_.empty() && budget > 0 &&
         static_cast<int>(running_.size()) < max_num_seqs_) {
    Sequence& seq = *waiting_.front();
    match_prefix(seq);
    const int n = std::min(seq.num_uncomputed(), budget);
    if ((!chunked_prefill_ && n < seq.num_uncomputed()) || !reserve_pages(seq, n)) {
      release_pages(seq);
      break;
    }
    waiting_.pop_front();
    if (prefix_cache_) prefix_cache_->count_admission(seq.num_tokens(), seq.num_computed_tokens);
    seq.status = SequenceStatus::Running;
    running_.push_back(&seq);
    out.items.push_back({&seq, n, n == seq.num_uncomputed()});
    budget -= n;
  }

  for (const auto& item : out.items) {
    out.num_tokens += item.num_new_tokens;
    if (item.num_new_tokens > 1 || !item.samples) out.num_prefill_tokens += item.num_new_tokens;
  }
  return out;
}

void Scheduler::complete(const SchedulerOutput& output) {
  const int page_size = pool_.page_size();
  for (const auto& item : output.items) {
    Sequence& seq = *item.seq;
    seq.num_computed_tokens += item.num_new_tokens;
    if (!prefix_cache_) continue;
    const int full_pages = seq.num_computed_tokens / page_size;
    for (int p = seq.num_published_pages; p < full_pages; ++p) {
      const std::span<const int32_t> piece(seq.tokens.data() + static_cast<size_t>(p) * page_size,
                                           static_cast<size_t>(page_size));
      seq.last_published_hash = PrefixCache::page_hash(seq.last_published_hash, piece);
      prefix_cache_->publish(seq.last_published_hash, seq.pages[static_cast<size_t>(p)], piece);
    }
    seq.num_published_pages = std::max(seq.num_published_pages, full_pages);
  }
}

void Scheduler::remove(Sequence* seq) {
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) {
    running_.erase(it);
  }
  if (auto it = std::find(waiting_.begin(), waiting_.end(), seq); it != waiting_.end()) {
    waiting_.erase(it);
  }
  release_pages(*seq);
  seq->status = SequenceStatus::Finished;
}

}  // namespace cascade

#include "engine/scheduler.h"

#include <algorithm>
#include <span>
#include <unordered_set>

#include "base/error.h"

namespace cascade {
namespace {

// How far down the waiting queue admission looks for a sequence sharing a running chunk.
constexpr int kGroupingWindow = 64;

}  // namespace

Scheduler::Scheduler(const EngineConfig& config, PagePool& pool, PrefixCache* prefix_cache,
                     ChunkRegistry* registry)
    : max_num_seqs_(config.max_num_seqs),
      max_num_batched_tokens_(config.max_num_batched_tokens),
      chunked_prefill_(config.enable_chunked_prefill),
      pool_(pool),
      prefix_cache_(prefix_cache),
      registry_(registry) {}

void Scheduler::add(Sequence* seq) {
  check(seq->chunks.empty() || registry_ != nullptr,
        "scheduler: a sequence with chunks needs a chunk registry");
  seq->status = SequenceStatus::Waiting;
  waiting_.push_back(seq);
}

bool Scheduler::reserve_pages(Sequence& seq, int num_new_tokens) {
  const int page_size = pool_.page_size();
  const int needed_pages = (seq.num_computed_tokens + num_new_tokens + page_size - 1) / page_size;
  const int missing = needed_pages - static_cast<int>(seq.pages.size());
  if (missing <= 0) return true;
  // Unused cached chunks give their pages up before any running sequence does.
  if (missing > pool_.num_free() && registry_) registry_->evict_pages(missing - pool_.num_free());
  if (missing > pool_.num_free()) return false;
  for (int i = 0; i < missing; ++i) seq.pages.push_back(pool_.allocate());
  return true;
}

void Scheduler::release_pages(Sequence& seq) {
  for (int32_t page : seq.pages) pool_.release(page);
  seq.pages.clear();
  seq.num_computed_tokens = 0;
  seq.num_published_pages = 0;
  seq.last_published_hash = seq.prefix_root;
}

bool Scheduler::acquire_chunks(Sequence& seq) {
  int cached = 0;
  for (size_t j = 0; j < seq.chunks.size(); ++j) {
    SequenceChunk& c = seq.chunks[j];
    c.entry = registry_->acquire(c.key, *c.tokens, c.canonical_start);
    if (!c.entry) {  // no room now: give back what this attempt took and wait
      for (size_t k = 0; k < j; ++k) {
        registry_->release(seq.chunks[k].entry);
        seq.chunks[k].entry = nullptr;
      }
      return false;
    }
    if (c.entry->computed) cached += c.length();
  }
  seq.num_cached_context_tokens = cached;
  seq.holds_chunks = true;
  return true;
}

void Scheduler::release_chunks(Sequence& seq) {
  if (!seq.holds_chunks) return;
  for (auto& c : seq.chunks) {
    registry_->release(c.entry);
    c.entry = nullptr;
  }
  seq.holds_chunks = false;
}

bool Scheduler::plan_fills(Sequence& seq, int budget, std::vector<ChunkFill>& fills) {
  int left = budget;
  for (size_t j = 0; j < seq.chunks.size(); ++j) {
    const ChunkEntry* entry = seq.chunks[j].entry;
    if (entry->computed) continue;
    const int length = seq.chunks[j].length();
    const auto it = filled_this_step_.find(entry);
    if (it != filled_this_step_.end()) {
      if (it->second == length) continue;  // completed this step by an earlier sequence
      return false;                        // another sequence is partway through it
    }
    // Chunks are filled in prompt order, so its parent chain is complete by now.
    const int done = entry->filled;
    const int n = std::min(length - done, left);
    if (n <= 0) return false;
    fills.push_back({static_cast<int>(j), done, n});
    filled_this_step_[entry] = done + n;
    left -= n;
    if (done + n < length) return false;
  }
  return true;
}

void Scheduler::undo_fills(const Sequence& seq, const std::vector<ChunkFill>& fills) {
  for (const auto& fill : fills) {
    filled_this_step_.erase(seq.chunks[static_cast<size_t>(fill.chunk)].entry);
  }
}

bool Scheduler::schedule_sequence(Sequence& seq, int& budget, bool may_preempt,
                                  SchedulerOutput& out) {
  std::vector<ChunkFill> fills;
  const bool ready = plan_fills(seq, budget, fills);
  int fill_tokens = 0;
  for (const auto& fill : fills) fill_tokens += fill.count;
  const int n = ready ? std::min(seq.num_uncomputed(), budget - fill_tokens) : 0;
  if (!may_preempt && !chunked_prefill_ && n < seq.num_uncomputed() && ready) {
    undo_fills(seq, fills);
    return false;
  }
  while (n > 0 && !reserve_pages(seq, n)) {
    Sequence* victim = may_preempt ? preemption_victim() : nullptr;
    if (!victim) {
      undo_fills(seq, fills);
      return false;
    }
    preempt(*victim);
    if (victim == &seq) {
      undo_fills(seq, fills);
      return false;
    }
  }
  budget -= fill_tokens + n;
  if (!fills.empty() || n > 0) {
    out.items.push_back({&seq, std::move(fills), n, n > 0 && n == seq.num_uncomputed()});
  }
  return true;
}

void Scheduler::match_prefix(Sequence& seq) {
  if (prefix_cache_ && seq.num_computed_tokens == 0 && seq.num_tokens() > 0) {
    // The last token is always computed, so that the step yields its logits and never
    // writes into a page another sequence shares.
    const int max_pages = (seq.num_tokens() - 1) / pool_.page_size();
    std::vector<uint64_t> hashes;
    seq.pages = prefix_cache_->match(seq.tokens, max_pages, &hashes, seq.prefix_root);
    seq.num_computed_tokens = static_cast<int>(seq.pages.size()) * pool_.page_size();
    seq.num_published_pages = static_cast<int>(seq.pages.size());
    if (!hashes.empty()) seq.last_published_hash = hashes.back();
  }
  if (seq.num_preemptions == 0) {
    seq.num_cached_tokens = seq.num_cached_context_tokens + seq.num_computed_tokens;
  }
}

Sequence* Scheduler::preemption_victim() const {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    if (!(*it)->last_token_pending) return *it;
  }
  return nullptr;
}

void Scheduler::preempt(Sequence& seq) {
  release_pages(seq);  // its chunks stay pinned: it is still waiting for them
  seq.status = SequenceStatus::Waiting;
  ++seq.num_preemptions;
  ++stats_.preemptions;
  running_.erase(std::find(running_.begin(), running_.end(), &seq));
  waiting_.push_front(&seq);
}

std::deque<Sequence*>::iterator Scheduler::next_waiting() {
  const auto front = waiting_.begin();
  if (!registry_ || running_.empty() || (*front)->holds_chunks) return front;
  std::unordered_set<const ChunkEntry*> running_entries;
  for (const Sequence* seq : running_) {
    for (const auto& c : seq->chunks) running_entries.insert(c.entry);
  }
  if (running_entries.empty()) return front;
  int looked = 0;
  for (auto it = front; it != waiting_.end() && looked < kGroupingWindow; ++it, ++looked) {
    for (const auto& c : (*it)->chunks) {
      const ChunkEntry* entry = registry_->find(c.key);
      if (entry && running_entries.count(entry)) return it;
    }
  }
  return front;
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  filled_this_step_.clear();
  int budget = max_num_batched_tokens_;
  const int64_t preemptions_before = stats_.preemptions;

  // Running sequences first, oldest first; the youngest gives its pages up when needed.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence& seq = *running_[i];
    if (seq.last_token_pending) {
      ++i;
      continue;
    }
    if (!schedule_sequence(seq, budget, /*may_preempt=*/true, out)) break;
    ++i;
  }

  // Then admit waiting sequences unless this step already ran short of pages.
  while (stats_.preemptions == preemptions_before && !waiting_.empty() && budget > 0 &&
         static_cast<int>(running_.size()) < max_num_seqs_) {
    const auto it = next_waiting();
    Sequence& seq = **it;
    const bool held_chunks = seq.holds_chunks;
    if (!held_chunks && !acquire_chunks(seq)) break;
    match_prefix(seq);
    if (!schedule_sequence(seq, budget, /*may_preempt=*/false, out)) {
      release_pages(seq);
      if (!held_chunks) release_chunks(seq);
      break;
    }
    waiting_.erase(it);
    if (prefix_cache_) prefix_cache_->count_admission(seq.num_tokens(), seq.num_computed_tokens);
    if (!held_chunks) stats_.chunk_tokens_reused += seq.num_cached_context_tokens;
    seq.status = SequenceStatus::Running;
    running_.push_back(&seq);
  }

  for (const auto& item : out.items) {
    int fill_tokens = 0;
    for (const auto& fill : item.fills) fill_tokens += fill.count;
    out.num_tokens += fill_tokens + item.num_new_tokens;
    out.num_prefill_tokens += fill_tokens;
    if (item.num_new_tokens > 1 || !item.samples) out.num_prefill_tokens += item.num_new_tokens;
  }
  return out;
}

void Scheduler::complete(const SchedulerOutput& output) {
  for (const auto& item : output.items) {
    Sequence& seq = *item.seq;
    for (const auto& fill : item.fills) {
      const SequenceChunk& chunk = seq.chunks[static_cast<size_t>(fill.chunk)];
      ChunkEntry& entry = *chunk.entry;
      entry.filled = std::max(entry.filled, fill.first + fill.count);
      if (entry.filled == chunk.length()) entry.computed = true;
      stats_.chunk_tokens_computed += fill.count;
    }
    seq.num_computed_tokens += item.num_new_tokens;
    publish_pages(seq);
  }
}

void Scheduler::publish_pages(Sequence& seq) {
  if (!prefix_cache_) return;
  const int page_size = pool_.page_size();
  const int full_pages = std::min(seq.num_computed_tokens, seq.num_known_tokens()) / page_size;
  for (int p = seq.num_published_pages; p < full_pages; ++p) {
    const std::span<const int32_t> piece(seq.tokens.data() + static_cast<size_t>(p) * page_size,
                                         static_cast<size_t>(page_size));
    seq.last_published_hash = PrefixCache::page_hash(seq.last_published_hash, piece);
    prefix_cache_->publish(seq.last_published_hash, seq.pages[static_cast<size_t>(p)], piece);
  }
  seq.num_published_pages = std::max(seq.num_published_pages, full_pages);
}

void Scheduler::remove(Sequence* seq) {
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) {
    running_.erase(it);
  }
  if (auto it = std::find(waiting_.begin(), waiting_.end(), seq); it != waiting_.end()) {
    waiting_.erase(it);
  }
  release_pages(*seq);
  release_chunks(*seq);
  seq->status = SequenceStatus::Finished;
}

}  // namespace cascade

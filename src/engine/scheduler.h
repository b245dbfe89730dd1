// Continuous batching (vLLM v1 style): every step computes, for each running sequence,
// the tokens whose KV is missing (one for a decode, a chunk for a prefill), within a
// token budget; then admits waiting sequences while the budget, max_num_seqs and free
// pages allow. When pages run out, the youngest running sequence is preempted: its pages
// are released and it waits again at the front, to be recomputed (its prefix-cached
// pages usually make that cheap).
#pragma once

#include <deque>
#include <vector>

#include "cache/page_pool.h"
#include "cache/prefix_cache.h"
#include "cascade/engine_config.h"
#include "engine/sequence.h"

namespace cascade {

struct ScheduledSequence {
  Sequence* seq = nullptr;
  int num_new_tokens = 0;  // tokens [num_computed_tokens, + num_new_tokens) run this step
  bool samples = false;    // the step completes the sequence's tokens: sample the next one
};

struct SchedulerOutput {
  std::vector<ScheduledSequence> items;
  int num_tokens = 0;
  int num_prefill_tokens = 0;  // tokens of sequences that do not sample or have > 1 new token
  bool empty() const { return items.empty(); }
};

class Scheduler {
 public:
  // `prefix_cache` may be null (prefix caching off).
  Scheduler(const EngineConfig& config, PagePool& pool, PrefixCache* prefix_cache);

  void add(Sequence* seq);
  SchedulerOutput schedule();
  // Marks the scheduled tokens computed and publishes pages that became full.
  void complete(const SchedulerOutput& output);
  // Removes a finished or aborted sequence and releases its pages.
  void remove(Sequence* seq);

  bool has_unfinished() const { return !waiting_.empty() || !running_.empty(); }
  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  int64_t num_preemptions() const { return num_preemptions_; }

 private:
  int max_num_seqs_;
  int max_num_batched_tokens_;
  bool chunked_prefill_;
  PagePool& pool_;
  PrefixCache* prefix_cache_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;
  int64_t num_preemptions_ = 0;

  bool reserve_pages(Sequence& seq, int num_new_tokens);
  void release_pages(Sequence& seq);
  void match_prefix(Sequence& seq);
  void preempt(Sequence& seq);
};

}  // namespace cascade

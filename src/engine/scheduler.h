// Continuous batching (vLLM v1 style): every step computes, for each running sequence,
// the tokens whose KV is missing (one for a decode, a chunk for a prefill), within a
// token budget; then admits waiting sequences while the budget, max_num_seqs and free
// pages allow. When pages run out, unpinned context chunks are evicted first, then the
// youngest running sequence is preempted: its own pages are released and it waits again
// at the front, to be recomputed (its prefix-cached pages usually make that cheap).
// A sequence whose last token is still being drawn (Sequence::last_token_pending) gets no
// step and is never preempted: it ends when that token is known.
//
// Context chunks: a sequence acquires (pins) its chunks in the ChunkRegistry when it is
// first admitted and keeps them, through preemptions, until it ends. A chunk whose KV is
// missing is filled by the first sequence that reaches it in a step ("fills", at the
// chunk's canonical positions); other sequences that need it wait for it. A sequence's
// own tokens run once every chunk it uses is computed or completed in the same step (the
// model writes every row's KV before any row attends). When admission is limited,
// waiting sequences that share a chunk with the running ones go first, so that shared
// chunks are read once for many rows.
#pragma once

#include <deque>
#include <unordered_map>
#include <vector>

#include "cache/chunk_registry.h"
#include "cache/page_pool.h"
#include "cache/prefix_cache.h"
#include "cascade/engine_config.h"
#include "engine/sequence.h"

namespace cascade {

// Tokens [first, first + count) of the sequence's chunk `chunk` computed this step.
struct ChunkFill {
  int chunk = 0;
  int first = 0;
  int count = 0;
};

struct ScheduledSequence {
  Sequence* seq = nullptr;
  std::vector<ChunkFill> fills;  // chunk tokens this sequence computes this step
  int num_new_tokens = 0;        // own tokens [num_computed_tokens, + num_new_tokens) run this step
  bool samples = false;          // the step completes the sequence's tokens: sample the next one
};

struct SchedulerOutput {
  std::vector<ScheduledSequence> items;
  int num_tokens = 0;          // rows of the step: fills and own tokens
  int num_prefill_tokens = 0;  // fills, and own tokens of items that do not decode one token
  bool empty() const { return items.empty(); }
};

struct SchedulerStats {
  int64_t preemptions = 0;
  int64_t chunk_tokens_reused = 0;    // chunk tokens already computed when a sequence came in
  int64_t chunk_tokens_computed = 0;  // chunk tokens filled
};

class Scheduler {
 public:
  // `prefix_cache` and `registry` may be null (prefix caching off; no chunks).
  Scheduler(const EngineConfig& config, PagePool& pool, PrefixCache* prefix_cache,
            ChunkRegistry* registry = nullptr);

  void add(Sequence* seq);
  SchedulerOutput schedule();
  // Marks the scheduled tokens computed and publishes pages that became full. With
  // asynchronous scheduling this runs as soon as the step is queued: later steps are
  // queued behind it, so they read what it writes.
  void complete(const SchedulerOutput& output);
  // Offers the prefix cache the sequence's full computed pages whose ids are all known
  // (complete() does; again once pending tokens are known).
  void publish_pages(Sequence& seq);
  // Removes a finished or aborted sequence and releases its pages and chunks.
  void remove(Sequence* seq);

  bool has_unfinished() const { return !waiting_.empty() || !running_.empty(); }
  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  int64_t num_preemptions() const { return stats_.preemptions; }
  const SchedulerStats& stats() const { return stats_; }

 private:
  int max_num_seqs_;
  int max_num_batched_tokens_;
  bool chunked_prefill_;
  PagePool& pool_;
  PrefixCache* prefix_cache_;
  ChunkRegistry* registry_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;
  SchedulerStats stats_;
  // This step: for each chunk entry being filled, how many of its tokens will be computed.
  std::unordered_map<const ChunkEntry*, int> filled_this_step_;

  bool reserve_pages(Sequence& seq, int num_new_tokens);
  void release_pages(Sequence& seq);
  bool acquire_chunks(Sequence& seq);
  void release_chunks(Sequence& seq);
  // Plans the sequence's chunk fills within `budget`; true when its own tokens may run.
  bool plan_fills(Sequence& seq, int budget, std::vector<ChunkFill>& fills);
  void undo_fills(const Sequence& seq, const std::vector<ChunkFill>& fills);
  // Schedules `seq` (fills, then own tokens) into `out`; false when it must wait.
  bool schedule_sequence(Sequence& seq, int& budget, bool may_preempt, SchedulerOutput& out);
  std::deque<Sequence*>::iterator next_waiting();
  void match_prefix(Sequence& seq);
  void preempt(Sequence& seq);
  // The youngest running sequence that may lose its pages (not one whose last token is
  // pending: it ends when that token is known), or null.
  Sequence* preemption_victim() const;
};

}  // namespace cascade

// The cascade planner: turns one step's sequences into attention tasks (DESIGN.md,
// "Attention = tasks + merge"). Each sequence attends to a list of levels: shared
// context chunks first, its own tokens last. A level that several sequences of the step
// share (same content, same rope_delta) becomes ONE task whose query rows are all of
// theirs, so its KV is read once per step; a level that is short or used by one
// sequence stays a task of that sequence alone. Long tasks may be split into pieces for
// parallelism. Pure host code: no device, no allocation beyond the plan.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/attention_plan.h"

namespace cascade {

// One run of KV a sequence attends to.
struct PlanLevel {
  int64_t shared_id = -1;      // same id = same content in the same pages; -1: private
  std::vector<int32_t> pages;  // the run starts at offset 0 of pages[0]
  int32_t length = 0;          // tokens
  int32_t first_position = 0;  // logical position of its first token (causal masks)
  int32_t rope_delta = 0;      // queries are rotated at position - rope_delta
  bool causal = false;         // only a sequence's own level is causal
};

struct PlanSequence {
  std::vector<int32_t> rows;      // this sequence's query rows in the step
  std::vector<PlanLevel> levels;  // shared levels in prompt order, then its own level
};

struct PlannerOptions {
  int page_size = 16;
  bool enable_cascade = true;   // false: every level is a private task (cascade off)
  int max_cascade_levels = 16;  // shared levels per sequence that may become shared tasks
  int min_shared_tokens = 0;    // shorter levels are never shared (reading them per row is cheaper)
  int max_task_tokens = 0;      // > 0: split longer tasks into page-aligned pieces
};

// `num_rows` is the step's row count; every row must belong to exactly one sequence.
AttentionPlan plan_attention(const std::vector<PlanSequence>& sequences, int num_rows,
                             const PlannerOptions& options);

}  // namespace cascade

// Attention as tasks + merge (docs/ARCHITECTURE.md, "Attention").
//
// A task is a set of query rows attending to one run of KV tokens held in pages. Each
// task writes one partial state per (query row, head): the normalised output o and its
// log-sum-exp s. The merge combines a row's partial states exactly:
//   s = log2(sum_i 2^(s_i)),  o = sum_i 2^(s_i - s) * o_i.
// LSE is in base 2 everywhere in cascade: scores are scaled by log2(e) / sqrt(head_dim)
// and exponentiated with exp2.
//
// Positions and RoPE: keys are stored rotated at their canonical positions. A query row at
// logical position m is rotated at m - rope_delta inside the task. Causal tasks mask KV
// token j (logical position kv_pos0 + j) for a query at m when kv_pos0 + j > m.
//
// The plan is plain host data in flat arrays (CSR offsets), so the planner stays free of
// device code and a GPU backend can upload it as it is.
#pragma once

#include <cstdint>
#include <vector>

namespace cascade {

struct AttentionPlan {
  int page_size = 16;
  int num_rows = 0;  // query rows in the step's batch

  // Task t: query rows task_rows[row_begin[t] .. row_begin[t+1]).
  std::vector<int32_t> row_begin{0};
  std::vector<int32_t> task_rows;
  // Task t: pages task_pages[page_begin[t] .. page_begin[t+1]) hold kv_len[t] tokens,
  // in order, starting at offset 0 of the first page.
  std::vector<int32_t> page_begin{0};
  std::vector<int32_t> task_pages;
  std::vector<int32_t> kv_len;
  std::vector<int32_t> kv_pos0;     // logical position of the task's first KV token
  std::vector<int32_t> rope_delta;  // query rotated at (position - rope_delta)
  std::vector<uint8_t> causal;

  // Partial state of task t, local row r lives in slot row_begin[t] + r.
  int num_tasks() const { return static_cast<int>(kv_len.size()); }
  int num_slots() const { return static_cast<int>(task_rows.size()); }

  // Appends a task; returns its index.
  int add_task(const std::vector<int32_t>& rows, const std::vector<int32_t>& pages, int32_t length,
               int32_t first_position, int32_t delta, bool is_causal);

  // For every query row, the slots to merge: merge_slots[merge_begin[r] .. merge_begin[r+1]).
  // Built by finalize() from the tasks.
  std::vector<int32_t> merge_begin;
  std::vector<int32_t> merge_slots;
  void finalize();

  // Unique per finalize() (0 before, and again after a later add_task): backends derive
  // their kernel work from a plan once and reuse it for every layer of the step.
  uint64_t id = 0;
};

}  // namespace cascade

#include "cache/cascade_planner.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

#include "base/error.h"

namespace cascade {
namespace {

// Adds the task for `level` over `rows`, in pieces of at most max_task_tokens.
void add_level_tasks(AttentionPlan& plan, const PlanLevel& level, const std::vector<int32_t>& rows,
                     const PlannerOptions& options) {
  if (level.length == 0) return;  // an empty level contributes nothing
  const int page_size = options.page_size;
  int piece_tokens = level.length;
  if (options.max_task_tokens > 0 && !level.causal) {
    // Page-aligned pieces; a causal level stays whole so that its mask stays simple.
    piece_tokens = std::max(page_size, options.max_task_tokens / page_size * page_size);
  }
  for (int32_t start = 0; start < level.length; start += piece_tokens) {
    const int32_t n = std::min(piece_tokens, level.length - start);
    const auto first_page = static_cast<size_t>(start / page_size);
    const auto num_pages = static_cast<size_t>((n + page_size - 1) / page_size);
    check(first_page + num_pages <= level.pages.size(), [&] {
      return "planner: level of " + std::to_string(level.length) + " tokens has only " +
             std::to_string(level.pages.size()) + " pages";
    });
    const std::vector<int32_t> pages(
        level.pages.begin() + static_cast<ptrdiff_t>(first_page),
        level.pages.begin() + static_cast<ptrdiff_t>(first_page + num_pages));
    plan.add_task(rows, pages, n, level.first_position + start, level.rope_delta, level.causal);
  }
}

}  // namespace

AttentionPlan plan_attention(const std::vector<PlanSequence>& sequences, int num_rows,
                             const PlannerOptions& options) {
  AttentionPlan plan;
  plan.page_size = options.page_size;
  plan.num_rows = num_rows;

  // A shared task is keyed by (content, rope_delta): the same chunk at another offset
  // needs another query rotation.
  using GroupKey = std::tuple<int64_t, int32_t>;
  std::map<GroupKey, std::vector<size_t>> users;  // group -> sequences using it this step
  const auto eligible = [&](const PlanLevel& level, size_t index) {
    return options.enable_cascade && level.shared_id >= 0 && !level.causal &&
           static_cast<int>(index) < options.max_cascade_levels &&
           level.length >= options.min_shared_tokens;
  };
  for (size_t s = 0; s < sequences.size(); ++s) {
    const auto& levels = sequences[s].levels;
    for (size_t l = 0; l < levels.size(); ++l) {
      if (eligible(levels[l], l)) users[{levels[l].shared_id, levels[l].rope_delta}].push_back(s);
    }
  }

  // Shared tasks first: one per group used by at least two sequences.
  std::map<GroupKey, bool> shared;
  for (const auto& [key, seqs] : users) {
    if (seqs.size() < 2) continue;
    shared[key] = true;
    std::vector<int32_t> rows;
    const PlanLevel* level = nullptr;
    for (size_t s : seqs) {
      const auto& seq = sequences[s];
      rows.insert(rows.end(), seq.rows.begin(), seq.rows.end());
      for (const auto& l : seq.levels) {
        if (l.shared_id == std::get<0>(key) && l.rope_delta == std::get<1>(key)) level = &l;
      }
    }
    add_level_tasks(plan, *level, rows, options);
  }

  // Then each sequence's remaining levels as tasks of its own rows.
  for (size_t s = 0; s < sequences.size(); ++s) {
    const auto& seq = sequences[s];
    check(!seq.rows.empty(),
          [&] { return "planner: sequence " + std::to_string(s) + " has no rows"; });
    for (size_t l = 0; l < seq.levels.size(); ++l) {
      const auto& level = seq.levels[l];
      if (eligible(level, l) && shared.count({level.shared_id, level.rope_delta})) continue;
      add_level_tasks(plan, level, seq.rows, options);
    }
  }
  plan.finalize();
  return plan;
}

}  // namespace cascade

#include "ops/attention_plan.h"

#include <atomic>
#include <string>

#include "base/error.h"

namespace cascade {

int AttentionPlan::add_task(const std::vector<int32_t>& rows, const std::vector<int32_t>& pages,
                            int32_t length, int32_t first_position, int32_t delta, bool is_causal) {
  check(!rows.empty(), "attention task without query rows");
  id = 0;
  check(length >= 0 && static_cast<int64_t>(pages.size()) * page_size >= length, [&] {
    return "attention task: " + std::to_string(length) + " KV tokens do not fit in " +
           std::to_string(pages.size()) + " pages";
  });
  for (int32_t r : rows) check(0 <= r && r < num_rows, "attention task: query row out of range");
  task_rows.insert(task_rows.end(), rows.begin(), rows.end());
  row_begin.push_back(static_cast<int32_t>(task_rows.size()));
  task_pages.insert(task_pages.end(), pages.begin(), pages.end());
  page_begin.push_back(static_cast<int32_t>(task_pages.size()));
  kv_len.push_back(length);
  kv_pos0.push_back(first_position);
  rope_delta.push_back(delta);
  causal.push_back(is_causal ? 1 : 0);
  return num_tasks() - 1;
}

void AttentionPlan::finalize() {
  static std::atomic<uint64_t> next_id{1};
  id = next_id.fetch_add(1);
  std::vector<int32_t> count(static_cast<size_t>(num_rows), 0);
  for (int32_t r : task_rows) ++count[static_cast<size_t>(r)];
  merge_begin.assign(static_cast<size_t>(num_rows) + 1, 0);
  for (int r = 0; r < num_rows; ++r) {
    check(count[static_cast<size_t>(r)] > 0,
          [&] { return "attention plan: query row " + std::to_string(r) + " has no task"; });
    merge_begin[static_cast<size_t>(r) + 1] =
        merge_begin[static_cast<size_t>(r)] + count[static_cast<size_t>(r)];
  }
  merge_slots.assign(task_rows.size(), 0);
  std::vector<int32_t> fill(merge_begin.begin(), merge_begin.end() - 1);
  for (int32_t slot = 0; slot < num_slots(); ++slot) {
    const auto r = static_cast<size_t>(task_rows[static_cast<size_t>(slot)]);
    merge_slots[static_cast<size_t>(fill[r]++)] = slot;
  }
}

}  // namespace cascade

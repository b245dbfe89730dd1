// How the CUDA attention divides a plan (host code, no GPU needed): every (slot, head) is
// covered by exactly one tile per KV chunk, chunks cover each task's KV exactly once, and
// each row merges exactly the parts of its tasks.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/error.h"
#include "ops/cuda/cuda_attention_work.h"

namespace cascade {
namespace {

AttentionPlan make_plan() {
  AttentionPlan plan;
  plan.page_size = 16;
  plan.num_rows = 6;
  plan.add_task({0, 1, 2, 3, 4, 5}, std::vector<int32_t>(200, 1), 3200, 0, 0, false);
  plan.add_task({0}, {2, 3}, 20, 3200, 0, true);
  plan.add_task({1, 2, 3, 4, 5}, {4}, 0, 0, 0, false);  // empty task
  plan.add_task({5}, std::vector<int32_t>(40, 5), 630, 100, 7, true);
  plan.finalize();
  return plan;
}

struct Item {
  int task, flat_row0, kv_begin, kv_end, part_base, tile_rows;
};

std::vector<Item> items_of(const AttentionWork& w, const AttentionWorkShape& shape) {
  std::vector<Item> out;
  for (int i = 0; i < w.num_small; ++i) {
    const int32_t* p = w.packed.data() + w.small_items + 5 * i;
    out.push_back({p[0], p[1], p[2], p[3], p[4], shape.small_tile_rows});
  }
  for (int i = 0; i < w.num_large; ++i) {
    const int32_t* p = w.packed.data() + w.large_items + 5 * i;
    out.push_back({p[0], p[1], p[2], p[3], p[4], shape.large_tile_rows});
  }
  return out;
}

TEST(CudaAttentionWorkTest, CoversEverySlotAndTokenOnceAndMergesAllParts) {
  const AttentionPlan plan = make_plan();
  for (const int group : {1, 2, 7, 8}) {
    for (const int target : {1, 64, 1000}) {
      AttentionWorkShape shape;
      // 16: CUDA cores; 64: the tensor-core kernels; 128: the warp-specialized kernel.
      shape.large_tile_rows = group == 2 ? 64 : group == 8 ? 128 : 16;
      shape.group = group;
      shape.small_tile_rows = small_tile_rows_for(group);  // 8 for group 7
      shape.kv_heads = 2;
      shape.target_blocks = target;
      const AttentionWork w = build_attention_work(plan, 6, 300, 16, shape);
      // (task, flat row) -> list of token ranges, and the part each (slot, chunk) writes.
      std::map<std::pair<int, int>, std::vector<std::pair<int, int>>> ranges;
      std::set<int> parts_written;
      for (const Item& it : items_of(w, shape)) {
        const int slots = plan.row_begin[it.task + 1] - plan.row_begin[it.task];
        for (int f = it.flat_row0; f < std::min(it.flat_row0 + it.tile_rows, slots * group); ++f) {
          ranges[{it.task, f}].push_back({it.kv_begin, it.kv_end});
          if (f % group == 0) {
            EXPECT_TRUE(parts_written.insert(it.part_base + f / group).second);
          }
        }
      }
      for (int t = 0; t < plan.num_tasks(); ++t) {
        const int slots = plan.row_begin[t + 1] - plan.row_begin[t];
        for (int f = 0; f < slots * group; ++f) {
          auto r = ranges[{t, f}];
          ASSERT_FALSE(r.empty()) << "task " << t << " flat row " << f;
          std::sort(r.begin(), r.end());
          EXPECT_EQ(r.front().first, 0);
          for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].first, r[i - 1].second);
          EXPECT_EQ(r.back().second, plan.kv_len[t]);
        }
      }
      EXPECT_EQ(static_cast<int>(parts_written.size()), w.num_parts);
      // Row r merges every part of every task it is in, each once.
      std::set<int> merged;
      for (int r = 0; r < 6; ++r) {
        for (int i = w.packed[w.merge_begin + r]; i < w.packed[w.merge_begin + r + 1]; ++i) {
          EXPECT_TRUE(merged.insert(w.packed[w.merge_parts + i]).second);
        }
      }
      EXPECT_EQ(merged, parts_written);
      if (target == 1000) {
        EXPECT_GT(w.num_parts, plan.num_slots()) << "long tasks split";
      }
      if (target == 1) {
        EXPECT_EQ(w.num_parts, plan.num_slots()) << "no split needed";
      }
    }
  }
}

TEST(CudaAttentionWorkTest, HeaderLocatesTheArraysAndPaddingRowsMergeNothing) {
  const AttentionPlan plan = make_plan();
  AttentionWorkShape shape;
  const AttentionWork w = build_attention_work(plan, 9, 300, 16, shape);  // 3 padding rows
  const auto& p = w.packed;
  EXPECT_EQ(p[kWorkNumSmall], w.num_small);
  EXPECT_EQ(p[kWorkNumLarge], w.num_large);
  EXPECT_EQ(p[kWorkRowBegin], w.row_begin);
  EXPECT_EQ(p[kWorkTaskRows], w.task_rows);
  EXPECT_EQ(p[kWorkPageBegin], w.page_begin);
  EXPECT_EQ(p[kWorkTaskPages], w.task_pages);
  EXPECT_EQ(p[kWorkKvLen], w.kv_len);
  EXPECT_EQ(p[kWorkKvPos0], w.kv_pos0);
  EXPECT_EQ(p[kWorkRopeDelta], w.rope_delta);
  EXPECT_EQ(p[kWorkCausal], w.causal);
  EXPECT_EQ(p[kWorkSmallItems], w.small_items);
  EXPECT_EQ(p[kWorkLargeItems], w.large_items);
  EXPECT_EQ(p[kWorkMergeBegin], w.merge_begin);
  EXPECT_EQ(p[kWorkMergeParts], w.merge_parts);
  EXPECT_GE(w.row_begin, kWorkHeaderInts);
  EXPECT_EQ(p[static_cast<size_t>(w.kv_len)], plan.kv_len[0]);
  for (int r = 6; r < 9; ++r) {
    EXPECT_EQ(p[static_cast<size_t>(w.merge_begin + r)],
              p[static_cast<size_t>(w.merge_begin + r + 1)])
        << "padding row " << r;
  }
  EXPECT_GT(p[static_cast<size_t>(w.merge_begin + 6)], 0);
}

TEST(CudaAttentionWorkTest, RejectsPagesOutsideTheCache) {
  const AttentionPlan plan = make_plan();
  AttentionWorkShape shape;
  EXPECT_THROW(build_attention_work(plan, 6, 5, 16, shape), Error);    // page 5 of 5 pages
  EXPECT_THROW(build_attention_work(plan, 5, 300, 16, shape), Error);  // wrong row count
  EXPECT_THROW(build_attention_work(plan, 6, 300, 32, shape), Error);  // wrong page size
}

}  // namespace
}  // namespace cascade

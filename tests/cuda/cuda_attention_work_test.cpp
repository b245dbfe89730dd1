// How the CUDA attention divides a plan (host code, no GPU needed): every (slot, head) is
// covered by exactly one tile per KV chunk, chunks cover each task's KV exactly once, and
// each row merges exactly the parts of its tasks; few short decode tasks run unsplit on wide
// blocks, and the merge is left out exactly where every row has one part.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <set>
#include <string>

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
    out.push_back({p[0], p[1], p[2], p[3], p[4], w.small_tile_rows});
  }
  for (int i = 0; i < w.num_large; ++i) {
    const int32_t* p = w.packed.data() + w.large_items + 5 * i;
    out.push_back({p[0], p[1], p[2], p[3], p[4], shape.large_tile_rows});
  }
  return out;
}

// Every (slot, head) of the plan is in one tile per KV chunk, the chunks cover each task's KV
// once, and each row merges exactly the parts of its tasks. Returns the work.
AttentionWork expect_every_slot_token_and_part_once(const AttentionPlan& plan, int rows, int group,
                                                    int target, int split_group_below_blocks) {
  AttentionWorkShape shape;
  // 16: CUDA cores; 64: the tensor-core kernels; 128: the warp-specialized kernel.
  shape.large_tile_rows = group == 2 ? 64 : group == 8 ? 128 : 16;
  shape.group = group;
  shape.small_tile_rows = small_tile_rows_for(group);  // 8 for group 7
  shape.kv_heads = 2;
  shape.target_blocks = target;
  shape.split_group_below_blocks = split_group_below_blocks;
  const AttentionWork w = build_attention_work(plan, rows, 300, 16, shape);
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
      if (r.empty()) {
        ADD_FAILURE() << "task " << t << " flat row " << f << " is in no tile";
        continue;
      }
      std::sort(r.begin(), r.end());
      EXPECT_EQ(r.front().first, 0);
      for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].first, r[i - 1].second);
      EXPECT_EQ(r.back().second, plan.kv_len[t]);
    }
  }
  EXPECT_EQ(static_cast<int>(parts_written.size()), w.num_parts);
  // Row r merges every part of every task it is in, each once.
  std::set<int> merged;
  for (int r = 0; r < rows; ++r) {
    for (int i = w.packed[w.merge_begin + r]; i < w.packed[w.merge_begin + r + 1]; ++i) {
      EXPECT_TRUE(merged.insert(w.packed[w.merge_parts + i]).second);
    }
  }
  EXPECT_EQ(merged, parts_written);
  if (target == 1) {
    EXPECT_EQ(w.num_parts, plan.num_slots()) << "no split needed";
  }
  return w;
}

TEST(CudaAttentionWorkTest, CoversEverySlotAndTokenOnceAndMergesAllParts) {
  const AttentionPlan plan = make_plan();
  for (const int group : {1, 2, 7, 8}) {
    for (const int target : {1, 64, 1000}) {
      const AttentionWork w = expect_every_slot_token_and_part_once(plan, 6, group, target, 0);
      if (target == 1000) {
        EXPECT_GT(w.num_parts, plan.num_slots()) << "long tasks split";
      }
    }
  }
}

TEST(CudaAttentionWorkTest, HeaderLocatesTheArraysAndPaddingRowsMergeNothing) {
  const AttentionPlan plan = make_plan();
  AttentionWorkShape shape;
  const AttentionWork w = build_attention_work(plan, 9, 300, 16, shape);  // 3 padding rows
  const auto& p = w.packed;
  EXPECT_EQ(p[kWorkNumRows], 6);
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

// One decode row per sequence, each its own task of kv_len tokens.
AttentionPlan decode_plan(const std::vector<int32_t>& kv_lens, int num_rows) {
  AttentionPlan plan;
  plan.page_size = 16;
  plan.num_rows = num_rows;
  for (int32_t r = 0; r < static_cast<int32_t>(kv_lens.size()); ++r) {
    plan.add_task({r}, std::vector<int32_t>(static_cast<size_t>((kv_lens[r] + 15) / 16), r),
                  kv_lens[r], 0, 0, true);
  }
  plan.finalize();
  return plan;
}

// Qwen2.5-0.5B's attention (group 7, 2 kv heads) on an H200-sized GPU.
AttentionWorkShape b6_shape() {
  AttentionWorkShape shape;
  shape.group = 7;
  shape.kv_heads = 2;
  shape.small_tile_rows = small_tile_rows_for(7);
  shape.large_tile_rows = 64;
  shape.target_blocks = 528;
  shape.min_chunk_tokens = 256;
  shape.wide_max_blocks = 132;
  shape.wide_max_tokens = 2048;          // off by default
  shape.max_parts_merged_in_tasks = 32;  // off by default
  return shape;
}

TEST(CudaAttentionWorkTest, FewShortDecodeRowsRunUnsplitOnWideBlocksWhereAsked) {
  AttentionWorkShape shape = b6_shape();
  const AttentionPlan plan = decode_plan({1000, 2048}, 2);
  AttentionWork w = build_attention_work(plan, 2, 300, 16, shape);
  EXPECT_TRUE(w.wide);
  EXPECT_EQ(w.merge, AttentionMerge::kNone);
  ASSERT_EQ(w.num_small, 2);
  EXPECT_EQ(w.num_large, 0);
  EXPECT_EQ(w.num_parts, 2);
  for (const Item& it : items_of(w, shape)) {
    EXPECT_EQ(it.kv_begin, 0);
    EXPECT_EQ(it.kv_end, plan.kv_len[it.task]);
  }
  // A task past wide_max_tokens, wide blocks off (the default) or too many: KV chunks
  // again, several parts per row, merged by the task kernel's blocks.
  w = build_attention_work(decode_plan({1000, 2049}, 2), 2, 300, 16, shape);
  EXPECT_FALSE(w.wide);
  EXPECT_EQ(w.merge, AttentionMerge::kLastPart);
  EXPECT_GT(w.num_parts, 2);
  shape.wide_max_tokens = AttentionWorkShape{}.wide_max_tokens;
  w = build_attention_work(plan, 2, 300, 16, shape);
  EXPECT_FALSE(w.wide);
  EXPECT_EQ(w.merge, AttentionMerge::kLastPart);
  EXPECT_FALSE(build_attention_work(decode_plan({0, 0}, 2), 2, 300, 16, shape).wide)
      << "off means off, even for tasks of no tokens";
  shape = b6_shape();
  shape.wide_max_blocks = 3;  // the plan's 2 tiles x 2 kv heads
  w = build_attention_work(plan, 2, 300, 16, shape);
  EXPECT_FALSE(w.wide);
  EXPECT_GT(w.num_parts, 2);
}

TEST(CudaAttentionWorkTest, MergeKernelOnlyWithLargeTilesOrManyPartsPerRow) {
  AttentionWorkShape shape = b6_shape();
  shape.target_blocks = 4;  // 8 tiles x 2 kv heads fill it: no split, no wide blocks
  const AttentionPlan unsplit = decode_plan(std::vector<int32_t>(8, 3000), 8);
  AttentionWork w = build_attention_work(unsplit, 10, 300, 16, shape);  // rows 8, 9 pad
  EXPECT_FALSE(w.wide);
  EXPECT_EQ(w.merge, AttentionMerge::kNone);
  EXPECT_EQ(w.num_parts, 8);
  EXPECT_EQ(w.packed[kWorkNumRows], 8);

  AttentionPlan cascade = decode_plan({100, 200}, 2);  // row 1 also sees a shared level
  cascade.add_task({1}, {7}, 16, 0, 0, false);
  cascade.finalize();
  w = build_attention_work(cascade, 2, 300, 16, b6_shape());
  EXPECT_TRUE(w.wide);
  EXPECT_EQ(w.merge, AttentionMerge::kLastPart) << "row 1 has two parts";

  shape = b6_shape();  // 3000 tokens in 256-token chunks: 12 parts per row
  shape.max_parts_merged_in_tasks = 11;
  EXPECT_EQ(build_attention_work(unsplit, 8, 300, 16, shape).merge, AttentionMerge::kKernel);
  shape.max_parts_merged_in_tasks = 12;
  EXPECT_EQ(build_attention_work(unsplit, 8, 300, 16, shape).merge, AttentionMerge::kLastPart);
  shape.max_parts_merged_in_tasks = AttentionWorkShape{}.max_parts_merged_in_tasks;
  EXPECT_EQ(build_attention_work(unsplit, 8, 300, 16, shape).merge, AttentionMerge::kKernel)
      << "the merge kernel by default";

  AttentionPlan prefill;  // 3 rows x group 7 = 21 flat rows: a large tile
  prefill.page_size = 16;
  prefill.num_rows = 3;
  prefill.add_task({0, 1, 2}, {0}, 3, 0, 0, true);
  prefill.finalize();
  w = build_attention_work(prefill, 3, 300, 16, b6_shape());
  EXPECT_EQ(w.num_large, 1);
  EXPECT_EQ(w.merge, AttentionMerge::kKernel);
  EXPECT_FALSE(w.wide);
}

// Groups of 5 to 8 heads: a step whose 8-row small tiles would be fewer blocks than
// split_group_below_blocks cuts them into 4-row tiles (B6: one decode row of 7 heads, 2
// blocks, becomes 4); other steps, and the default (0), keep 8-row tiles. Either way every
// slot, token and part is covered once.
TEST(CudaAttentionWorkTest, FewDecodeRowsOfLargeGroupsTakeFourRowTilesWhereAsked) {
  AttentionWorkShape shape = b6_shape();
  shape.wide_max_tokens = 0;
  const AttentionPlan one_row = decode_plan({45}, 1);
  AttentionWork w = build_attention_work(one_row, 1, 300, 16, shape);
  EXPECT_EQ(w.small_tile_rows, 8);
  EXPECT_EQ(w.num_small, 1);
  shape.split_group_below_blocks = 3;
  w = build_attention_work(one_row, 1, 300, 16, shape);
  EXPECT_EQ(w.small_tile_rows, 4);
  ASSERT_EQ(w.num_small, 2);
  std::set<int> first_rows;
  for (const Item& it : items_of(w, shape)) first_rows.insert(it.flat_row0);
  EXPECT_EQ(first_rows, (std::set<int>{0, 4}));
  EXPECT_EQ(w.merge, AttentionMerge::kNone) << "each row is in one tile: one part";
  EXPECT_EQ(w.num_parts, 1);
  const AttentionPlan two_rows = decode_plan({45, 300}, 2);  // 4 blocks: not below 3
  EXPECT_EQ(build_attention_work(two_rows, 2, 300, 16, shape).small_tile_rows, 8);
  shape.split_group_below_blocks = 5;
  EXPECT_EQ(build_attention_work(two_rows, 2, 300, 16, shape).small_tile_rows, 4);
  for (const int group : {2, 7, 8}) {
    for (const int target : {1, 64, 1000}) {
      expect_every_slot_token_and_part_once(two_rows, 2, group, target, 1000);
      expect_every_slot_token_and_part_once(decode_plan({3000, 17, 0}, 3), 4, group, target, 1000);
    }
  }
}

// Each of `values` for `variable` makes attention_tuning_from_env throw an Error that names
// the variable; the variable is unset afterwards.
void expect_rejected(const char* variable, std::initializer_list<const char*> values) {
  for (const char* bad : values) {
    ::setenv(variable, bad, 1);
    try {
      attention_tuning_from_env(132);
      ADD_FAILURE() << "accepted " << variable << "=" << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(variable), std::string::npos) << e.what();
    }
  }
  ::unsetenv(variable);
}

TEST(CudaAttentionWorkTest, TuningComesFromTheGpuSizeAndTheEnvironment) {
  AttentionWorkShape shape = attention_tuning_from_env(132);
  EXPECT_EQ(shape.target_blocks, 528);
  EXPECT_EQ(shape.wide_max_blocks, 132);
  EXPECT_EQ(shape.min_chunk_tokens, AttentionWorkShape{}.min_chunk_tokens);
  EXPECT_EQ(shape.wide_max_tokens, 0);
  EXPECT_EQ(shape.max_parts_merged_in_tasks, 0);
  EXPECT_TRUE(shape.heads_inner);
  ::setenv("CASCADE_ATTENTION_HEADS_INNER", "0", 1);
  EXPECT_FALSE(attention_tuning_from_env(132).heads_inner);
  ::setenv("CASCADE_ATTENTION_HEADS_INNER", "2", 1);
  EXPECT_THROW(attention_tuning_from_env(132), Error);
  ::unsetenv("CASCADE_ATTENTION_HEADS_INNER");
  EXPECT_EQ(shape.key_lanes, 8);
  ::setenv("CASCADE_ATTENTION_KEY_LANES", "1", 1);
  EXPECT_EQ(attention_tuning_from_env(132).key_lanes, 1);
  expect_rejected("CASCADE_ATTENTION_KEY_LANES", {"0", "4", "16"});
  const char* const names[] = {
      "CASCADE_ATTENTION_TARGET_BLOCKS", "CASCADE_ATTENTION_MIN_CHUNK_TOKENS",
      "CASCADE_ATTENTION_WIDE_TOKENS", "CASCADE_ATTENTION_TASK_MERGE_PARTS",
      "CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS"};
  EXPECT_EQ(shape.split_group_below_blocks, 132) << "one block per SM";
  for (const char* name : names) ::setenv(name, "77", 1);
  shape = attention_tuning_from_env(132);
  EXPECT_EQ(shape.split_group_below_blocks, 77);
  EXPECT_EQ(shape.target_blocks, 77);
  EXPECT_EQ(shape.min_chunk_tokens, 77);
  EXPECT_EQ(shape.wide_max_tokens, 77);
  EXPECT_EQ(shape.max_parts_merged_in_tasks, 77);
  for (const char* name : names) ::unsetenv(name);
  expect_rejected("CASCADE_ATTENTION_TARGET_BLOCKS", {"-1", "lots", "12x"});
  EXPECT_EQ(shape.cluster_blocks, kMostClusterBlocks) << "on by default";
  ::setenv("CASCADE_ATTENTION_CLUSTER_BLOCKS", "0", 1);
  EXPECT_EQ(attention_tuning_from_env(132).cluster_blocks, 0);
  ::setenv("CASCADE_ATTENTION_CLUSTER_BLOCKS", "4", 1);
  EXPECT_EQ(attention_tuning_from_env(132).cluster_blocks, 4);
  expect_rejected("CASCADE_ATTENTION_CLUSTER_BLOCKS", {"1", "3", "16"});
  EXPECT_EQ(attention_tuning_from_env(132).large_target_blocks, kOneWaveOfLargeBlocks)
      << "the backend's, by default";
  ::setenv("CASCADE_ATTENTION_TARGET_BLOCKS", "300", 1);
  EXPECT_EQ(attention_tuning_from_env(132).large_target_blocks, 0) << "a given target is for all";
  ::setenv("CASCADE_ATTENTION_LARGE_TARGET_BLOCKS", "200", 1);
  EXPECT_EQ(attention_tuning_from_env(132).large_target_blocks, 200);
  ::unsetenv("CASCADE_ATTENTION_TARGET_BLOCKS");
  ::unsetenv("CASCADE_ATTENTION_LARGE_TARGET_BLOCKS");
  expect_rejected("CASCADE_ATTENTION_LARGE_TARGET_BLOCKS", {"-2", "many"});
  EXPECT_EQ(shape.large_wave_slots, 0) << "off by default";
  ::setenv("CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM", "3", 1);
  EXPECT_EQ(attention_tuning_from_env(132).large_wave_slots, 396);
  expect_rejected("CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM", {"-1", "17"});
}

// Split decode steps whose rows are each in one task run each tile's chunks as one cluster
// (AttentionMerge::kCluster): at most cluster_blocks chunks per task, the cluster size the
// power of two at or above the most chunks, each tile's chunks consecutive and in order,
// covering its task's KV once, padded by empty chunks that write no part; the tiles
// longest task first. Rows in two tasks (a shared level), no split or clusters off: not.
TEST(CudaAttentionWorkTest, SplitDecodeTasksRunAsClustersOfTheirChunks) {
  AttentionWorkShape shape = b6_shape();
  shape.wide_max_tokens = 0;
  shape.max_parts_merged_in_tasks = 0;
  shape.min_chunk_tokens = 128;
  shape.cluster_blocks = 8;
  const std::vector<int32_t> lengths = {300, 1000, 17};
  const AttentionPlan plan = decode_plan(lengths, 3);
  AttentionWork w = build_attention_work(plan, 4, 300, 16, shape);  // row 3 pads
  EXPECT_EQ(w.merge, AttentionMerge::kCluster);
  EXPECT_EQ(w.cluster_blocks, 8) << "1000 tokens: 8 chunks of 128";
  ASSERT_EQ(w.num_small, 3 * 8);
  EXPECT_EQ(w.num_large, 0);
  const std::vector<Item> items = items_of(w, shape);
  const int order[] = {1, 0, 2};  // longest task first
  for (int tile = 0; tile < 3; ++tile) {
    const int task = order[tile], len = lengths[static_cast<size_t>(task)];
    int covered = 0;
    for (int c = 0; c < 8; ++c) {
      const Item& it = items[static_cast<size_t>(tile * 8 + c)];
      EXPECT_EQ(it.task, task);
      EXPECT_EQ(it.flat_row0, 0);
      EXPECT_EQ(it.kv_begin, covered) << "task " << task << " chunk " << c;
      if (covered == len) {  // padding
        EXPECT_EQ(it.kv_end, len);
        EXPECT_EQ(it.part_base, -1);
        continue;
      }
      EXPECT_GT(it.kv_end, it.kv_begin);
      EXPECT_GE(it.part_base, 0);
      covered = it.kv_end;
    }
    EXPECT_EQ(covered, len) << "task " << task;
  }

  shape.cluster_blocks = 4;  // 2000 tokens in at most 4 chunks (of 512)
  w = build_attention_work(decode_plan({2000, 100}, 2), 2, 300, 16, shape);
  EXPECT_EQ(w.merge, AttentionMerge::kCluster);
  EXPECT_EQ(w.cluster_blocks, 4);
  EXPECT_EQ(w.num_small, 2 * 4);
  EXPECT_EQ(items_of(w, shape)[1].kv_begin, 512);
  w = build_attention_work(decode_plan({200, 100}, 2), 2, 300, 16, shape);
  EXPECT_EQ(w.cluster_blocks, 2) << "200 tokens: 2 chunks";

  AttentionPlan cascade = decode_plan({1000, 200}, 2);  // row 1 also sees a shared level
  cascade.add_task({1}, {7}, 16, 0, 0, false);
  cascade.finalize();
  w = build_attention_work(cascade, 2, 300, 16, shape);
  EXPECT_EQ(w.merge, AttentionMerge::kKernel);
  EXPECT_EQ(w.cluster_blocks, 0);
  EXPECT_EQ(build_attention_work(decode_plan({100, 17}, 2), 2, 300, 16, shape).merge,
            AttentionMerge::kNone)
      << "no task split: one part per row";
  shape.cluster_blocks = 0;
  w = build_attention_work(plan, 4, 300, 16, shape);
  EXPECT_EQ(w.merge, AttentionMerge::kKernel);
  EXPECT_EQ(w.cluster_blocks, 0);
}

// A block takes the next item when one finishes: the longest items go first, so that a
// long one does not start last and stretch the tail (a batch of decode rows of mixed
// context lengths); items of equal length keep the plan's order.
TEST(CudaAttentionWorkTest, ItemsOfEachKindRunLongestFirst) {
  AttentionPlan plan;
  plan.page_size = 16;
  plan.num_rows = 8;
  const int lengths[] = {100, 900, 16, 900, 450, 33, 1000, 7};
  for (int r = 0; r < 8; ++r) {
    plan.add_task({r}, std::vector<int32_t>((lengths[r] + 15) / 16, r), lengths[r], 0, 0, false);
  }
  plan.add_task({0, 1, 2, 3, 4, 5, 6, 7}, std::vector<int32_t>(8, 9), 128, 0, 0, false);
  plan.add_task({0, 1, 2, 3, 4, 5, 6, 7}, std::vector<int32_t>(64, 10), 1024, 0, 0, false);
  plan.finalize();
  AttentionWorkShape shape;
  shape.group = 2;
  shape.large_tile_rows = 64;
  shape.kv_heads = 8;
  shape.target_blocks = 1;  // no KV chunks
  const AttentionWork w = build_attention_work(plan, 8, 16, 16, shape);
  const std::vector<Item> items = items_of(w, shape);
  ASSERT_EQ(w.num_small, 8);
  ASSERT_EQ(w.num_large, 2);
  std::vector<int> small_tasks, large_tasks;
  for (int i = 0; i < 8; ++i) small_tasks.push_back(items[i].task);
  for (int i = 8; i < 10; ++i) large_tasks.push_back(items[i].task);
  EXPECT_EQ(small_tasks, (std::vector<int>{6, 1, 3, 4, 0, 5, 2, 7}));
  EXPECT_EQ(large_tasks, (std::vector<int>{9, 8}));
}

// A plan of `rows` query rows over 8 shared chunks of 2,048 keys each (pages 0..7), the
// chunks' tasks added; the caller adds the rows' own tasks and finalizes.
AttentionPlan eight_shared_chunks(int num_rows) {
  AttentionPlan plan;
  plan.page_size = 16;
  plan.num_rows = num_rows;
  std::vector<int32_t> rows(static_cast<size_t>(num_rows));
  for (int r = 0; r < num_rows; ++r) rows[static_cast<size_t>(r)] = r;
  for (int c = 0; c < 8; ++c) {
    plan.add_task(rows, std::vector<int32_t>(128, c), 2048, c * 2048, c * 2048, false);
  }
  return plan;
}

// B4's cached step on the H200's 132 SMs: 64 question rows (group 2) over 8 shared chunks of
// 2,048 keys and their own 64 keys: 18 large tiles per kv head. By target_blocks (528),
// 4 chunks each: 528 blocks, two waves of the 396 resident (3 per SM). For whole waves
// (large_wave_slots 396), the model's cost ceil(blocks / 396) x (longest chunk + 128) is
// least at 6 chunks of 384 keys: 784 blocks, 2 x 512 (4 chunks: 2 x 640; 2: 1 x 1,152).
TEST(CudaAttentionWorkTest, LargeTilesSplitForWholeWavesWhereAsked) {
  AttentionPlan plan = eight_shared_chunks(64);
  std::vector<int32_t> rows(64);
  for (int r = 0; r < 64; ++r) rows[r] = r;
  plan.add_task(rows, std::vector<int32_t>(4, 8), 64, 16384, 0, true);
  plan.finalize();
  AttentionWorkShape shape;
  shape.group = 2;
  shape.large_tile_rows = 64;
  shape.kv_heads = 8;
  shape.target_blocks = 528;
  const auto chunk_ends = [&](const AttentionWork& w) {
    std::map<std::pair<int, int>, std::vector<std::pair<int, int>>> ranges;  // (task, tile)
    for (const Item& it : items_of(w, shape)) {
      ranges[{it.task, it.flat_row0}].push_back({it.kv_begin, it.kv_end});
    }
    for (auto& [key, r] : ranges) {  // each tile's chunks cover its task's keys once
      std::sort(r.begin(), r.end());
      EXPECT_EQ(r.front().first, 0);
      for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(r[i].first, r[i - 1].second);
      EXPECT_EQ(r.back().second, plan.kv_len[key.first]);
    }
    return ranges;
  };

  const AttentionWork by_target = build_attention_work(plan, 64, 16, 16, shape);
  EXPECT_EQ(by_target.num_large, 66);  // 8 tasks x 2 tiles x 4 chunks + 2 own tiles
  EXPECT_EQ(chunk_ends(by_target).at({0, 0}).size(), 4u);

  // One wave of the resident blocks as the target: 3 chunks (768, 768, 512 keys) make
  // 8 x 2 x 3 + 2 = 50 items, 400 blocks over the 8 kv heads.
  shape.large_target_blocks = 396;
  const AttentionWork one_wave = build_attention_work(plan, 64, 16, 16, shape);
  EXPECT_EQ(one_wave.num_large, 50);
  const auto one_wave_ranges = chunk_ends(one_wave);
  ASSERT_EQ(one_wave_ranges.at({0, 64}).size(), 3u);
  EXPECT_EQ(one_wave_ranges.at({0, 64})[1], std::make_pair(768, 1536));
  EXPECT_EQ(one_wave.num_parts, 8 * 3 * 64 + 64);
  shape.large_target_blocks = 0;

  shape.large_wave_slots = 396;
  const AttentionWork by_waves = build_attention_work(plan, 64, 16, 16, shape);
  EXPECT_EQ(by_waves.num_large, 98);  // 8 x 2 x 6 + 2
  const auto ranges = chunk_ends(by_waves);
  ASSERT_EQ(ranges.at({0, 0}).size(), 6u);
  EXPECT_EQ(ranges.at({0, 0}).front(), std::make_pair(0, 384));
  EXPECT_EQ(ranges.at({8, 64}).size(), 1u);  // the own task is shorter than a chunk
  EXPECT_EQ(by_waves.num_parts, 8 * 6 * 64 + 64);
}

// B2's decode step at batch 128 on 132 SMs: 8 shared chunks of 2,048 keys read by all 128
// rows (4 large tiles per kv head each) and each row's own 192 keys (small tiles). Its
// 1,024 small blocks already fill the target, one wave of resident large blocks or not:
// no chunk is split (splitting it 3 ways measured 11.5 % slower, 2026-12-02).
TEST(CudaAttentionWorkTest, StepsWithManySmallTilesKeepTheirLargeTilesWhole) {
  AttentionPlan plan = eight_shared_chunks(128);
  for (int r = 0; r < 128; ++r)
    plan.add_task({r}, std::vector<int32_t>(12, 8), 192, 16384, 0, true);
  plan.finalize();
  AttentionWorkShape shape;
  shape.group = 2;
  shape.large_tile_rows = 64;
  shape.kv_heads = 8;
  shape.target_blocks = 528;
  shape.large_target_blocks = 396;
  const AttentionWork w = build_attention_work(plan, 128, 16, 16, shape);
  EXPECT_EQ(w.num_large, 32);  // 8 tasks x 4 tiles, one chunk each
  EXPECT_EQ(w.num_small, 128);
  for (const Item& it : items_of(w, shape)) {
    EXPECT_EQ(it.kv_end - it.kv_begin, plan.kv_len[it.task]) << "task " << it.task;
  }
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

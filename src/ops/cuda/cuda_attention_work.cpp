#include "ops/cuda/cuda_attention_work.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <string>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/op_checks.h"

namespace cascade {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Appends `values` to `packed`, records where they start in the header slot `array`, and
// returns that offset.
int64_t append(std::vector<int32_t>& packed, AttentionWorkHeader array,
               const std::vector<int32_t>& values) {
  const auto offset = static_cast<int64_t>(packed.size());
  check(offset + static_cast<int64_t>(values.size()) < (int64_t{1} << 31),
        "attention: plan too large");
  packed[array] = static_cast<int32_t>(offset);
  packed.insert(packed.end(), values.begin(), values.end());
  return offset;
}

// Whether every row of the plan is in exactly one task (no shared levels to merge).
bool rows_in_one_task_each(const AttentionPlan& plan) {
  for (int r = 0; r < plan.num_rows; ++r) {
    if (plan.merge_begin[r + 1] - plan.merge_begin[r] != 1) return false;
  }
  return true;
}

std::vector<int32_t> flatten(const std::vector<AttentionWorkItem>& items) {
  std::vector<int32_t> out;
  out.reserve(items.size() * 5);
  for (const AttentionWorkItem& w : items) {
    out.insert(out.end(), {w.task, w.flat_row0, w.kv_begin, w.kv_end, w.part_base});
  }
  return out;
}

// kCluster's small items: for each task, longest first, and each of its tiles, `cluster`
// consecutive items, its chunks in order and then empty ones (kv_begin = kv_end = the
// task's length, part_base -1: they see no token and write no part).
std::vector<AttentionWorkItem> cluster_items(const AttentionPlan& plan,
                                             const std::vector<int64_t>& tiles,
                                             const std::vector<int32_t>& chunks,
                                             const std::vector<int32_t>& chunk_lens,
                                             const std::vector<int32_t>& part_base, int tile_rows,
                                             int cluster) {
  std::vector<int> order(static_cast<size_t>(plan.num_tasks()));
  for (size_t t = 0; t < order.size(); ++t) order[t] = static_cast<int>(t);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return plan.kv_len[a] > plan.kv_len[b]; });
  std::vector<AttentionWorkItem> items;
  for (const int t : order) {
    const int32_t len = plan.kv_len[t], slots = plan.row_begin[t + 1] - plan.row_begin[t];
    for (int64_t tile = 0; tile < tiles[t]; ++tile) {
      const auto row0 = static_cast<int32_t>(tile * tile_rows);
      for (int c = 0; c < cluster; ++c) {
        if (c >= chunks[t]) {
          items.push_back({t, row0, len, len, -1});
          continue;
        }
        const int64_t begin = int64_t{c} * chunk_lens[t];
        const int64_t end = std::min<int64_t>(len, begin + chunk_lens[t]);
        items.push_back({t, row0, static_cast<int32_t>(begin), static_cast<int32_t>(end),
                         part_base[t] + c * slots});
      }
    }
  }
  return items;
}

// How far to split the large tiles' tasks where shape.large_wave_slots thread blocks of the
// tensor-core kernel are resident at once: the split (1..kMostSplit) whose items take the
// fewest waves × (longest chunk + an item's set-up), fewer items on ties. An item's set-up
// (rotating its queries, writing its parts) is counted as kItemSetupTokens keys: ncu's stall
// samples of B2's items of ~10 blocks of 64 keys put it at ~16 % (2026-12-02).
template <class Chunking>
int64_t large_split_for_waves(const AttentionPlan& plan, const std::vector<int64_t>& tile_rows,
                              const std::vector<int64_t>& tiles, int64_t small_rows,
                              const AttentionWorkShape& shape, Chunking chunking) {
  constexpr int64_t kMostSplit = 64;
  constexpr int64_t kItemSetupTokens = 128;
  int64_t best = 1, best_cost = 0, best_items = 0;
  for (int64_t by = 1; by <= kMostSplit; ++by) {
    int64_t items = 0, longest = 0;
    for (int t = 0; t < plan.num_tasks(); ++t) {
      if (tile_rows[t] == small_rows) continue;
      const auto [chunk_len, count] = chunking(plan.kv_len[t], by);
      items += tiles[t] * shape.kv_heads * count;
      longest = std::max(longest, std::min<int64_t>(chunk_len, plan.kv_len[t]));
    }
    const int64_t cost = ceil_div(items, shape.large_wave_slots) * (longest + kItemSetupTokens);
    if (by == 1 || cost < best_cost || (cost == best_cost && items < best_items)) {
      best = by;
      best_cost = cost;
      best_items = items;
    }
  }
  return best;
}

}  // namespace

AttentionWorkShape attention_tuning_from_env(int num_sms) {
  AttentionWorkShape shape;
  constexpr int kMost = 1 << 20;
  shape.target_blocks = env_int("CASCADE_ATTENTION_TARGET_BLOCKS", 4 * num_sms, 1, kMost);
  // A target given for every step applies to the large tiles' steps too.
  const bool target_given = std::getenv("CASCADE_ATTENTION_TARGET_BLOCKS") != nullptr;
  shape.large_target_blocks =
      env_int("CASCADE_ATTENTION_LARGE_TARGET_BLOCKS", target_given ? 0 : kOneWaveOfLargeBlocks,
              kOneWaveOfLargeBlocks, kMost);
  shape.min_chunk_tokens =
      env_int("CASCADE_ATTENTION_MIN_CHUNK_TOKENS", shape.min_chunk_tokens, 1, kMost);
  shape.wide_max_blocks = num_sms;
  shape.wide_max_tokens = env_int("CASCADE_ATTENTION_WIDE_TOKENS", shape.wide_max_tokens, 0, kMost);
  shape.max_parts_merged_in_tasks =
      env_int("CASCADE_ATTENTION_TASK_MERGE_PARTS", shape.max_parts_merged_in_tasks, 0, kMost);
  shape.heads_inner =
      env_int("CASCADE_ATTENTION_HEADS_INNER", shape.heads_inner ? 1 : 0, 0, 1) != 0;
  shape.key_lanes = env_int("CASCADE_ATTENTION_KEY_LANES", shape.key_lanes, 1, 8);
  shape.split_group_below_blocks =
      env_int("CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS", num_sms, 0, kMost);
  shape.cluster_blocks =
      env_int("CASCADE_ATTENTION_CLUSTER_BLOCKS", kMostClusterBlocks, 0, kMostClusterBlocks);
  shape.large_wave_slots =
      num_sms * env_int("CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM", 0, 0, kMostLargeBlocksPerSm);
  if (shape.key_lanes != 1 && shape.key_lanes != 8) {
    throw Error("CASCADE_ATTENTION_KEY_LANES: " + std::to_string(shape.key_lanes) +
                " (1 or 8 lanes per key row)");
  }
  if (shape.cluster_blocks == 1 || (shape.cluster_blocks & (shape.cluster_blocks - 1)) != 0) {
    throw Error("CASCADE_ATTENTION_CLUSTER_BLOCKS: " + std::to_string(shape.cluster_blocks) +
                " (0 for off, or 2, 4 or 8 blocks per cluster)");
  }
  return shape;
}

AttentionWork build_attention_work(const AttentionPlan& plan, int64_t rows, int64_t num_pages,
                                   int64_t page_size, const AttentionWorkShape& shape) {
  check_attention_plan(plan, rows, num_pages, page_size);
  const int tasks = plan.num_tasks();
  const int64_t group = shape.group;

  // Tiles per task, then how many KV chunks the GPU's size asks for. Tasks of up to
  // shape.small_tile_rows flat rows take small tiles of `small_rows` rows.
  std::vector<int64_t> tile_rows(static_cast<size_t>(tasks)), tiles(static_cast<size_t>(tasks));
  int64_t blocks = 0;
  int32_t longest = 0;
  bool any_large = false;
  const auto tile_tasks = [&](int small_rows) {
    blocks = 0;
    any_large = false;
    for (int t = 0; t < tasks; ++t) {
      const int64_t flat = int64_t{plan.row_begin[t + 1] - plan.row_begin[t]} * group;
      tile_rows[t] = flat <= shape.small_tile_rows ? small_rows : shape.large_tile_rows;
      tiles[t] = ceil_div(flat, tile_rows[t]);
      blocks += tiles[t] * shape.kv_heads;
      longest = std::max(longest, plan.kv_len[t]);
      any_large = any_large || tile_rows[t] != small_rows;
    }
  };
  int small_rows = shape.small_tile_rows;
  tile_tasks(small_rows);
  if (small_rows > kSmallTileRows && !any_large && blocks < shape.split_group_below_blocks) {
    small_rows = kSmallTileRows;  // a few decode rows: twice the blocks, half the rows each
    tile_tasks(small_rows);
  }
  const int64_t target =
      any_large && shape.large_target_blocks > 0 ? shape.large_target_blocks : shape.target_blocks;
  int64_t split = blocks >= target || blocks == 0 ? 1 : ceil_div(target, blocks);

  AttentionWork work;
  work.num_tasks = tasks;
  work.small_tile_rows = small_rows;
  work.large_tile_rows = shape.large_tile_rows;
  // A few short small-tile tasks: wide blocks instead of KV chunks (no parts to merge).
  if (split > 1 && !any_large && blocks <= shape.wide_max_blocks && shape.wide_max_tokens > 0 &&
      longest <= shape.wide_max_tokens) {
    work.wide = true;
    split = 1;
  }
  // A tile's chunks as one cluster: at most cluster_blocks of them.
  const bool cluster = shape.cluster_blocks >= 2 && split > 1 && !any_large && !work.wide &&
                       rows_in_one_task_each(plan);
  // A task of `len` tokens split `by`: its chunk length and count.
  const auto chunking = [&](int64_t len, int64_t by) {
    int64_t chunk_len = std::max<int64_t>(len, 1), count = 1;
    if (by > 1 && len > shape.min_chunk_tokens) {
      int64_t wanted = std::min(by, ceil_div(len, shape.min_chunk_tokens));
      if (cluster) wanted = std::min<int64_t>(wanted, shape.cluster_blocks);
      chunk_len = ceil_div(ceil_div(len, wanted), shape.chunk_multiple) * shape.chunk_multiple;
      count = ceil_div(len, chunk_len);
    }
    return std::make_pair(chunk_len, count);
  };
  int64_t large_split = split;
  if (any_large && shape.large_wave_slots > 0) {
    large_split = large_split_for_waves(plan, tile_rows, tiles, small_rows, shape, chunking);
  }
  std::vector<AttentionWorkItem> small, large;
  std::vector<int32_t> task_part_base(static_cast<size_t>(tasks)),
      chunks(static_cast<size_t>(tasks)), chunk_lens(static_cast<size_t>(tasks));
  int64_t parts = 0;
  for (int t = 0; t < tasks; ++t) {
    const int64_t len = plan.kv_len[t], slots = plan.row_begin[t + 1] - plan.row_begin[t];
    const auto [chunk_len, count] = chunking(len, tile_rows[t] == small_rows ? split : large_split);
    chunks[t] = static_cast<int32_t>(count);
    chunk_lens[t] = static_cast<int32_t>(chunk_len);
    task_part_base[t] = static_cast<int32_t>(parts);
    for (int64_t c = 0; c < count; ++c) {
      for (int64_t tile = 0; tile < tiles[t]; ++tile) {
        const AttentionWorkItem item{t, static_cast<int32_t>(tile * tile_rows[t]),
                                     static_cast<int32_t>(c * chunk_len),
                                     static_cast<int32_t>(std::min(len, (c + 1) * chunk_len)),
                                     static_cast<int32_t>(parts + c * slots)};
        (tile_rows[t] == small_rows ? small : large).push_back(item);
      }
    }
    parts += count * slots;
  }
  check(parts < (int64_t{1} << 31), "attention: plan too large");
  const auto longest_first = [](const AttentionWorkItem& a, const AttentionWorkItem& b) {
    return a.kv_end - a.kv_begin > b.kv_end - b.kv_begin;
  };
  std::stable_sort(small.begin(), small.end(), longest_first);
  std::stable_sort(large.begin(), large.end(), longest_first);
  const int32_t most_chunks = tasks > 0 ? *std::max_element(chunks.begin(), chunks.end()) : 0;
  if (cluster && most_chunks > 1) {
    work.merge = AttentionMerge::kCluster;
    work.cluster_blocks = static_cast<int>(std::bit_ceil(static_cast<uint32_t>(most_chunks)));
    small = cluster_items(plan, tiles, chunks, chunk_lens, task_part_base, small_rows,
                          work.cluster_blocks);
  }
  work.num_parts = static_cast<int>(parts);
  work.num_small = static_cast<int>(small.size());
  work.num_large = static_cast<int>(large.size());

  // Every row merges all chunks of all the tasks it is in.
  std::vector<int32_t> slot_task(plan.task_rows.size());
  for (int t = 0; t < tasks; ++t) {
    for (int32_t s = plan.row_begin[t]; s < plan.row_begin[t + 1]; ++s) slot_task[s] = t;
  }
  std::vector<int32_t> merge_begin{0}, merge_parts;
  size_t most_parts = 0;  // of any row
  for (int64_t r = 0; r < rows; ++r) {
    if (r >= plan.num_rows) {  // padding
      merge_begin.push_back(static_cast<int32_t>(merge_parts.size()));
      continue;
    }
    for (int32_t m = plan.merge_begin[r]; m < plan.merge_begin[r + 1]; ++m) {
      const int32_t slot = plan.merge_slots[m], t = slot_task[slot];
      const int32_t local = slot - plan.row_begin[t];
      const int32_t slots = plan.row_begin[t + 1] - plan.row_begin[t];
      for (int32_t c = 0; c < chunks[t]; ++c) {
        merge_parts.push_back(task_part_base[t] + c * slots + local);
      }
    }
    most_parts = std::max(most_parts, merge_parts.size() - static_cast<size_t>(merge_begin.back()));
    merge_begin.push_back(static_cast<int32_t>(merge_parts.size()));
  }
  if (!any_large && tasks > 0 && work.merge != AttentionMerge::kCluster) {
    // Plans give every row a task, so it has a part.
    if (most_parts == 1) {
      work.merge = AttentionMerge::kNone;
    } else if (most_parts <= static_cast<size_t>(shape.max_parts_merged_in_tasks)) {
      work.merge = AttentionMerge::kLastPart;
    }
  }

  std::vector<int32_t> causal(plan.causal.begin(), plan.causal.end());
  auto& p = work.packed;
  p.assign(kWorkHeaderInts, 0);
  work.row_begin = append(p, kWorkRowBegin, plan.row_begin);
  work.task_rows = append(p, kWorkTaskRows, plan.task_rows);
  work.page_begin = append(p, kWorkPageBegin, plan.page_begin);
  work.task_pages = append(p, kWorkTaskPages, plan.task_pages);
  work.kv_len = append(p, kWorkKvLen, plan.kv_len);
  work.kv_pos0 = append(p, kWorkKvPos0, plan.kv_pos0);
  work.rope_delta = append(p, kWorkRopeDelta, plan.rope_delta);
  work.causal = append(p, kWorkCausal, causal);
  work.small_items = append(p, kWorkSmallItems, flatten(small));
  work.large_items = append(p, kWorkLargeItems, flatten(large));
  work.merge_begin = append(p, kWorkMergeBegin, merge_begin);
  work.merge_parts = append(p, kWorkMergeParts, merge_parts);
  p[kWorkNumRows] = plan.num_rows;
  p[kWorkNumSmall] = work.num_small;
  p[kWorkNumLarge] = work.num_large;
  return work;
}

}  // namespace cascade

// How the CUDA attention kernels divide an AttentionPlan into thread blocks. Pure host
// code (no CUDA headers), so the division is unit-tested without a GPU.
//
// A task's query rows are flattened with the heads of one kv-head group:
// flat index f = local_slot · group + (head % group). A work item is one tile of flat rows
// of one task over one chunk of its KV tokens; a thread block runs one work item for one
// kv head. Long tasks are split into several KV chunks when the plan alone would not fill
// the GPU (split-KV decode); each chunk writes its own partial state ("part") per row and
// head, and the merge combines all parts of a row (its tasks and their chunks).
//
// A step of small tiles only that would be split while it fills few SMs (decode of one or
// a few sequences) may instead run unsplit on wide blocks (kWideWarps warps each) when no
// task is longer than wide_max_tokens, which keeps every row at one part. A step of small
// tiles only needs no merge kernel (AttentionMerge): where every row has one part the task
// kernel writes the output itself; where every row is in one task whose chunks are at most
// cluster_blocks, the chunks of a tile run as one thread block cluster and merge their
// rows through distributed shared memory; otherwise (up to max_parts_merged_in_tasks parts
// per row) the block that writes a row's last part merges that row.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/attention_plan.h"

namespace cascade {

struct AttentionWorkItem {
  int32_t task;
  int32_t flat_row0;  // first flat row of the tile
  int32_t kv_begin;   // KV token range [kv_begin, kv_end) of the task
  int32_t kv_end;
  int32_t part_base;  // part of local slot 0 in this chunk; local slot s is part_base + s
};
static_assert(sizeof(AttentionWorkItem) == 5 * sizeof(int32_t));

inline constexpr int kOneWaveOfLargeBlocks = -1;

struct AttentionWorkShape {
  int group = 1;  // query heads per kv head
  int kv_heads = 1;
  int target_blocks = 528;  // split KV until about this many thread blocks run
  // Where > 0, the target instead in steps with large tiles on the one-warpgroup
  // tensor-core kernel: its blocks resident at once on the GPU, so that the split makes one
  // whole wave rather than 1.33 (B4's cached step: 144 blocks split 4 ways are 528, of
  // which 396 fit at once; 3 ways, 400: time to first token 3.07 -> 2.59 ms, H200
  // 2026-12-03). 0: target_blocks everywhere. kOneWaveOfLargeBlocks (from the
  // environment): CudaBackend puts in the kernel's resident blocks per step.
  int large_target_blocks = 0;
  int min_chunk_tokens = 128;  // B6 +5.5 % over 256 (H200, 2026-11-30); 64 the same
  int chunk_multiple = 128;    // chunk lengths are multiples of this (tokens per block step)
  int large_tile_rows = 16;    // 64 where the tensor-core kernel runs the large tiles
  int small_tile_rows = 4;     // small_tile_rows_for(group): tasks of up to this many
                               // flat rows take small tiles (of these rows, or below)
  // Groups of 5 to 8 query heads: where a step's small tiles of 8 rows would be fewer than
  // this many blocks (B6's decode step: 2), they are cut into tiles of 4 rows: twice the
  // blocks, each warp half the rows (and 8 lanes per key row). 0: never (here;
  // attention_tuning_from_env asks for one block per SM: B6 +4.4 % with clusters, H200).
  int split_group_below_blocks = 0;
  int wide_max_blocks = 132;          // wide blocks only where unsplit blocks would fit the SMs
  int wide_max_tokens = 0;            // ... and no task is longer than this (0: no wide blocks)
  int max_parts_merged_in_tasks = 0;  // 0: the merge kernel wherever a row has two parts
  // Split small-tile steps whose rows are each in one task (decode without shared levels):
  // at most this many KV chunks per task (a power of two, at most 8: the portable cluster
  // size), run as one cluster per tile that merges in distributed shared memory, so no
  // merge kernel runs. 0: off (here; attention_tuning_from_env turns it on).
  int cluster_blocks = 0;
  // EXPERIMENTAL (measured slower, 2026-12-02: B2 33.0 -> 29.2 K tok/s at 3;
  // CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM × SMs): where > 0,
  // the tensor-core kernel's thread blocks resident at once on the GPU, and the large
  // tiles' tasks are split for whole waves of them (large_split_for_waves) instead of by
  // target_blocks. 0: off.
  int large_wave_slots = 0;
  bool heads_inner = true;  // the CUDA-core task kernel's grid: kv heads fastest
  int key_lanes = 8;        // CUDA-core scoring: lanes per key row, 1 or 8 (d % 64 == 0)
};

// The shape's GPU-wide fields for a GPU of `num_sms` SMs (target_blocks 4 per SM,
// wide_max_blocks one per SM), with these experiments' switches read from the environment:
// CASCADE_ATTENTION_TARGET_BLOCKS (target_blocks), CASCADE_ATTENTION_MIN_CHUNK_TOKENS
// (min_chunk_tokens), CASCADE_ATTENTION_WIDE_TOKENS (wide_max_tokens) and
// CASCADE_ATTENTION_TASK_MERGE_PARTS (max_parts_merged_in_tasks) and
// CASCADE_ATTENTION_HEADS_INNER (heads_inner, 0 or 1), CASCADE_ATTENTION_KEY_LANES
// (key_lanes, 1 or 8), CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS (split_group_below_blocks;
// default num_sms) and
// CASCADE_ATTENTION_CLUSTER_BLOCKS (cluster_blocks: 0, 2, 4 or 8; default 8) and
// CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM (large_wave_slots / num_sms: 0 to 16; default 0)
// and CASCADE_ATTENTION_LARGE_TARGET_BLOCKS (large_target_blocks: -1 for one wave of the
// tensor-core kernel's resident blocks, the default unless CASCADE_ATTENTION_TARGET_BLOCKS
// is given, then 0).
// A value out of range is an Error naming the variable.
AttentionWorkShape attention_tuning_from_env(int num_sms);

// How a step's rows reach the output.
enum class AttentionMerge : int32_t {
  kKernel,    // the task kernels write parts, the merge kernel combines each row's
  kNone,      // one part per row and only small tiles: the task kernel writes the row
  kLastPart,  // only small tiles: the block that writes a row's last part merges the row
  kCluster,   // only small tiles, each row in one task: a tile's KV chunks are one cluster
              // of AttentionWork::cluster_blocks blocks, which merges the tile's rows
};

// Within each kind, items are ordered by KV length, longest first (a block takes the next
// item as one finishes, so the longest start first and the short ones fill the tail);
// with kCluster, each tile's cluster_blocks chunks are consecutive (chunk order, empty
// chunks padding a task of fewer), the tiles ordered by their task's KV length.
//
// Tasks whose flat rows fit a small tile use it; the others tiles of large_tile_rows.
inline constexpr int kSmallTileRows = 4;
// Warps of a small-tile block: kNarrowWarps, or kWideWarps for AttentionWork::wide.
inline constexpr int kNarrowWarps = 4;
// The largest cluster (AttentionMerge::kCluster) a launch may ask for on every GPU.
inline constexpr int kMostClusterBlocks = 8;
// The most resident tensor-core blocks per SM CASCADE_ATTENTION_LARGE_BLOCKS_PER_SM may name.
inline constexpr int kMostLargeBlocksPerSm = 16;
inline constexpr int kWideWarps = 16;
// Small tiles of 8 rows where a group has 5 to 8 query heads, so that one decode row of
// such a model (Qwen2.5-0.5B: 7) stays on the small-tile kernel.
inline constexpr int small_tile_rows_for(int group) {
  return group <= kSmallTileRows ? kSmallTileRows : 2 * kSmallTileRows;
}

// `packed` starts with this header: the item counts and the offsets below, so the kernels
// find a step's work from one fixed address (a recorded step replays with the work last
// uploaded there, whatever its size).
enum AttentionWorkHeader : int {
  kWorkNumRows,  // plan.num_rows: the rows past it pad the step
  kWorkNumSmall,
  kWorkNumLarge,
  kWorkRowBegin,
  kWorkTaskRows,
  kWorkPageBegin,
  kWorkTaskPages,
  kWorkKvLen,
  kWorkKvPos0,
  kWorkRopeDelta,
  kWorkCausal,
  kWorkSmallItems,
  kWorkLargeItems,
  kWorkMergeBegin,
  kWorkMergeParts,
  kWorkHeaderInts
};

// Everything the kernels read, packed into one i32 array (one upload per plan). The
// offsets are element offsets into `packed`.
struct AttentionWork {
  std::vector<int32_t> packed;
  int64_t row_begin = 0;    // [tasks + 1]   slots of task t: [row_begin[t], row_begin[t+1])
  int64_t task_rows = 0;    // [slots]       query row of each slot
  int64_t page_begin = 0;   // [tasks + 1]
  int64_t task_pages = 0;   // [pages]
  int64_t kv_len = 0;       // [tasks]
  int64_t kv_pos0 = 0;      // [tasks]
  int64_t rope_delta = 0;   // [tasks]
  int64_t causal = 0;       // [tasks]       0 or 1
  int64_t small_items = 0;  // [num_small]   AttentionWorkItem, tiles of small_tile_rows
  int64_t large_items = 0;  // [num_large]   AttentionWorkItem, tiles of large_tile_rows
  int64_t merge_begin = 0;  // [rows + 1]    parts of row r: merge_parts[merge_begin[r] ..]
  int64_t merge_parts = 0;  // [parts]
  int num_tasks = 0;
  int num_small = 0;
  int num_large = 0;
  int num_parts = 0;
  int small_tile_rows = 4;  // rows of the small tiles: the shape's, or 4 (split_group_below_blocks)
  bool wide = false;        // small tiles on blocks of kWideWarps warps, tasks unsplit
  AttentionMerge merge = AttentionMerge::kKernel;
  int cluster_blocks = 0;   // kCluster: blocks per cluster (2, 4 or 8), else 0
  int large_tile_rows = 0;  // the shape's: the large items' rows
};

// Validates the plan against the cache (Error naming the problem, as the CPU backend
// does) and divides it. rows: q's rows (rows past plan.num_rows are padding with no
// parts); num_pages, page_size: the cache's.
AttentionWork build_attention_work(const AttentionPlan& plan, int64_t rows, int64_t num_pages,
                                   int64_t page_size, const AttentionWorkShape& shape);

}  // namespace cascade

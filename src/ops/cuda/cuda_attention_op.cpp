// CudaBackend::attention: checks, the plan's work uploaded once per plan, the RoPE
// frequency table, then the task and merge kernels.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"
#include "base/step_profile.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_attention_variant.h"
#include "ops/cuda/cuda_attention_work.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.h"
#include "ops/op_checks.h"

namespace cascade {

// inv_freq[i] = 1 / theta^(2i / d) in float, exactly as the CPU backend's RopeTable.
const float* CudaBackend::rope_inv_freq(const RopeParams& rope) {
  check(rope.head_dim > 0 && rope.head_dim % 2 == 0, [&] {
    return "rope: head_dim must be positive and even, got " + std::to_string(rope.head_dim);
  });
  check(rope.theta > 0, "rope: theta must be positive");
  const auto key = std::make_pair(rope.theta, rope.head_dim);
  auto it = inv_freq_.find(key);
  if (it == inv_freq_.end()) {
    const int half = rope.head_dim / 2;
    std::vector<float> host(static_cast<size_t>(half));
    const auto theta = static_cast<float>(rope.theta);
    const auto dim = static_cast<float>(rope.head_dim);
    for (int i = 0; i < half; ++i) {
      host[static_cast<size_t>(i)] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / dim);
    }
    Tensor t = allocate(DType::F32, {half});
    CASCADE_CUDA_CHECK(
        cudaMemcpyAsync(t.data, host.data(), t.nbytes(), cudaMemcpyHostToDevice, stream_));
    it = inv_freq_.emplace(key, std::move(t)).first;
  }
  return it->second.as<float>();
}

const float2* CudaBackend::rope_table(const RopeParams& rope) {
  const auto key = std::make_pair(rope.theta, rope.head_dim);
  auto it = rope_tables_.find(key);
  if (it == rope_tables_.end()) {
    if (capturing_ || !use_rope_table_) return nullptr;
    const int half = rope.head_dim / 2;
    Tensor t = allocate(DType::F32, {kRopeTablePositions, half, 2});
    cuda::fill_rope_table(static_cast<float2*>(t.data), rope_inv_freq(rope), kRopeTablePositions,
                          half, stream_);
    it = rope_tables_.emplace(key, std::move(t)).first;
  }
  return static_cast<const float2*>(it->second.data);
}

// The plan's work is built and uploaded for the first layer of a step (or ahead of it, by
// prepare_attention); the other layers (same plan id and shapes) reuse it.
const AttentionWork& CudaBackend::attention_work(const AttentionPlan& plan, int64_t rows,
                                                 int64_t num_pages, int64_t page_size,
                                                 const AttentionWorkShape& shape) {
  const WorkKey key{
      plan.id, rows, num_pages, page_size, shape.group, shape.kv_heads, shape.large_tile_rows};
  if (plan.id != 0 && key == work_key_ && plan_device_.defined()) return work_;
  check(!capturing_, "attention: a recorded step's plan must be prepared before recording");
  PhaseTimer timer(StepPhase::AttentionHost);
  work_ = build_attention_work(plan, rows, num_pages, page_size, shape);
  work_key_ = key;
  const std::vector<int32_t>& packed = work_.packed;
  // Stream-ordered: the kernels of the previous plan have read it before this lands.
  recorded_scratch(plan_device_, packed.size() * sizeof(int32_t));
  work_staging_.upload(plan_device_.data, packed.data(), packed.size() * sizeof(int32_t), stream_);
  return work_;
}

AttentionWorkShape CudaBackend::attention_shape(int64_t hq, int64_t hkv, int64_t d,
                                                int64_t rows) const {
  AttentionWorkShape shape = attention_tuning_;
  shape.group = static_cast<int>(hq / hkv);
  shape.kv_heads = static_cast<int>(hkv);
  shape.large_tile_rows = cuda::attention_large_tile_rows(static_cast<int>(d), rows);
  shape.small_tile_rows = small_tile_rows_for(shape.group);
  if (shape.large_target_blocks == kOneWaveOfLargeBlocks) {
    shape.large_target_blocks =
        shape.large_tile_rows == cuda::kMmaTileRows
            ? num_sms_ * cuda::attention_wgmma_blocks_per_sm(static_cast<int>(d))
            : 0;
  }
  return shape;
}

void CudaBackend::reserve_parts(const AttentionWork& work, int64_t rows, int64_t hq, int64_t d) {
  const auto parts = static_cast<size_t>(std::max(work.num_parts, 1));
  recorded_scratch(part_o_, parts * static_cast<size_t>(hq * d) * sizeof(float));
  recorded_scratch(part_lse_, parts * static_cast<size_t>(hq) * sizeof(float));
  // Whatever this step's merge: a first kLastPart step would otherwise end the graph epoch.
  recorded_scratch(merge_count_,
                   static_cast<size_t>(std::max<int64_t>(rows * hq, 1)) * sizeof(int32_t));
}

void CudaBackend::prepare_attention(const AttentionPlan& plan, int64_t rows, int64_t hq,
                                    const KvLayer& cache) {
  check(cache.k.rank() == 4 && hq > 0 && cache.k.dim(2) > 0 && hq % cache.k.dim(2) == 0,
        "prepare_attention: cache must be [pages, page_size, kv_heads, head_dim] with hq a "
        "multiple of kv_heads");
  // Called once per step, before its kernels are enqueued (or recorded).
  cuda::allow_programmatic_launch_in_step(cuda::step_takes_programmatic_launch(rows));
  const int64_t d = cache.k.dim(3);
  const AttentionWork& work = attention_work(plan, rows, cache.k.dim(0), cache.k.dim(1),
                                             attention_shape(hq, cache.k.dim(2), d, rows));
  reserve_parts(work, rows, hq, d);
}

// q: [rows, hq, d] bf16 (un-rotated); positions: [rows] i32; cache.k, cache.v:
// [pages, page_size, hkv, d] bf16; out: [rows, hq, d] bf16.
void CudaBackend::attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                            const AttentionPlan& plan, const RopeParams& rope, Tensor& out) {
  check_attention_args(q, positions, cache, rope, out, DType::BF16);
  const int64_t rows = q.dim(0), hq = q.dim(1), d = q.dim(2);
  const int64_t page_size = cache.k.dim(1), hkv = cache.k.dim(2);
  check(cuda::attention_supports_head_dim(static_cast<int>(d)), [&] {
    return "attention: the CUDA backend has no kernel for head_dim " + std::to_string(d) +
           " (16, 32, 64 and 128 are supported)";
  });
  // The tensor-core kernels address cache rows ([pages · page_size · hkv, d]) in 32 bits.
  check(cache.k.dim(0) * page_size * hkv <= std::numeric_limits<int32_t>::max(), [&] {
    return "attention: a KV cache of " + std::to_string(cache.k.dim(0)) + " pages x " +
           std::to_string(page_size) + " tokens x " + std::to_string(hkv) +
           " kv heads has more rows than the CUDA kernels address (2^31 - 1)";
  });
  const AttentionWorkShape shape = attention_shape(hq, hkv, d, rows);
  const AttentionWork& work = attention_work(plan, rows, cache.k.dim(0), page_size, shape);
  if (rows == 0) return;
  reserve_parts(work, rows, hq, d);

  cuda::AttentionArgs a{};
  a.q = static_cast<const cuda::bf16*>(q.data);
  a.positions = positions.as<int32_t>();
  a.k_cache = static_cast<const cuda::bf16*>(cache.k.data);
  a.v_cache = static_cast<const cuda::bf16*>(cache.v.data);
  a.inv_freq = rope_inv_freq(rope);
  a.rope_table = rope_table(rope);
  a.rope_table_positions = a.rope_table != nullptr ? static_cast<int>(kRopeTablePositions) : 0;
  a.work = plan_device_.as<int32_t>();
  a.part_o = part_o_.as<float>();
  a.part_lse = part_lse_.as<float>();
  a.out = static_cast<cuda::bf16*>(out.data);
  a.rows = static_cast<int>(rows);
  a.hq = static_cast<int>(hq);
  a.hkv = static_cast<int>(hkv);
  a.d = static_cast<int>(d);
  a.page_size = static_cast<int>(page_size);
  a.cache_tokens = static_cast<int>(cache.k.dim(0) * page_size);
  a.score_scale = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(d)));
  a.merge = work.merge;
  a.merge_count = work.merge == AttentionMerge::kLastPart ? merge_count_.as<int32_t>() : nullptr;
  a.heads_inner = attention_tuning_.heads_inner;
  a.key_lanes = attention_tuning_.key_lanes;
  // Eager: one block per item. Recorded: the power of two at or above the items (blocks
  // loop over items past it), which graph_variant() keys the recording by, so a replayed
  // step has at most one item per block (B2 with cascade off ran 9 % slower at one block
  // per 4.5 items) and at most half the blocks idle (a fixed grid sized for the largest
  // split left B6's decode step with ~500 idle blocks per kv head); a kind with no items
  // is not launched.
  cuda::AttentionGrid grid{work.num_small, work.num_large,      work.small_tile_rows,
                           work.wide,      work.cluster_blocks, work.large_tile_rows};
  if (capturing_) {
    grid.small_blocks = static_cast<int>(std::bit_ceil(static_cast<uint32_t>(work.num_small)));
    grid.large_blocks = static_cast<int>(std::bit_ceil(static_cast<uint32_t>(work.num_large)));
    if (work.num_small == 0) grid.small_blocks = 0;
    if (work.num_large == 0) grid.large_blocks = 0;
  }
  cuda::attention(a, grid, attention_streams());
}

uint32_t CudaBackend::graph_variant() const {
  // 0 for no items, else 1 + log2 of the launched blocks: 6 bits per kind; then whether
  // the small tiles run on wide blocks, how rows are merged (2 bits), whether small tiles
  // have 4 rows, log2 of the cluster size (2 bits; 0 without clusters), and whether the
  // large tiles take the warp-specialized kernel.
  const auto grid_class = [](int items) {
    return items == 0 ? 0u
                      : 1u + static_cast<uint32_t>(
                                 std::countr_zero(std::bit_ceil(static_cast<uint32_t>(items))));
  };
  return grid_class(work_.num_small) | (grid_class(work_.num_large) << 6) |
         (work_.wide ? 1u << 12 : 0u) | (static_cast<uint32_t>(work_.merge) << 13) |
         (work_.small_tile_rows == kSmallTileRows ? 1u << 15 : 0u) |
         (work_.cluster_blocks > 1
              ? static_cast<uint32_t>(std::countr_zero(static_cast<uint32_t>(work_.cluster_blocks)))
                    << 16
              : 0u) |
         (work_.large_tile_rows == cuda::kWsTileRows ? 1u << 18 : 0u);
}

}  // namespace cascade

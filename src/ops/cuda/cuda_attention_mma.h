// The tensor-core attention task kernel (cuda_attention_mma.cu), for large tiles.
#pragma once

#include "ops/cuda/cuda_attention_variant.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {

// Flat query rows per tile of the tensor-core kernels; the warp-specialized wgmma kernel
// runs two such tiles per work item.
inline constexpr int kMmaTileRows = 64;
inline constexpr int kWsTileRows = 2 * kMmaTileRows;

constexpr bool mma_head_dim(int d) {
  return d == 64 || d == 128;
}
bool attention_mma_supports_head_dim(int d);

// Once per device before the first launch (CudaBackend's constructor): the kernel's shared
// memory opt-in.
void prepare_attention_mma_kernels();

// Runs the work's large items on `blocks` thread blocks per kv head
// (AttentionGrid::large_blocks; 0: not launched): tiles of kMmaTileRows rows, or of
// kWsTileRows on the warp-specialized wgmma kernel (tile_rows: the work's).
void attention_mma_tasks(const AttentionArgs& args, int blocks, int tile_rows, cudaStream_t stream);

// The same large items on Hopper's wgmma (cuda_attention_wgmma.cu), which
// attention_mma_tasks runs instead when attention_wgmma_enabled()
// (cuda_attention_variant.h).
void prepare_attention_wgmma_kernels();
void attention_wgmma_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream);
// Whether the wgmma kernels may fetch K and V by TMA (set_attention_wgmma_tma); they do
// where page sizes are multiples of 16.
bool attention_wgmma_tma_enabled();

// The warp-specialized wgmma kernel (cuda_attention_wgmma_ws.cu) for work items of
// kWsTileRows rows, which attention_mma_tasks runs for work built with such tiles
// (attention_wgmma_ws_for the step's rows).
void prepare_attention_wgmma_ws_kernels();
void attention_wgmma_ws_tasks(const AttentionArgs& args, int blocks, cudaStream_t stream);

}  // namespace cascade::cuda

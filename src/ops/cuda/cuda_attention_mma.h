// The tensor-core attention task kernel (cuda_attention_mma.cu), for large tiles.
#pragma once

#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {

// Flat query rows per tile of the tensor-core kernel.
inline constexpr int kMmaTileRows = 64;

constexpr bool mma_head_dim(int d) {
  return d == 64 || d == 128;
}
bool attention_mma_supports_head_dim(int d);

// Runs `num_items` work items (AttentionWorkItem as 5 × i32, tiles of kMmaTileRows rows).
void attention_mma_tasks(const AttentionArgs& args, const int32_t* items, int num_items,
                         cudaStream_t stream);

}  // namespace cascade::cuda

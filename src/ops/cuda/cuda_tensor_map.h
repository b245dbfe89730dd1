// Tensor maps (TMA descriptors) of the KV caches, for kernels whose K and V blocks are
// fetched by the SM's copy engine (cuda_attention_wgmma.cu). Host code; the driver's
// encoder is found through the runtime, so nothing links against libcuda.
#pragma once

#include <cuda.h>

#include "ops/cuda/cuda_kernels.h"

namespace cascade::cuda {

// A cache [cache_tokens, hkv, d] bf16 seen as a 3-D tensor (d innermost), boxes of
// 64 dims × 1 kv head × 16 tokens landing in 128-byte swizzled shared memory: one band of
// 16 rows as wgmma reads it.
struct KvTensorMaps {
  CUtensorMap k;
  CUtensorMap v;
};

KvTensorMaps kv_tensor_maps(const AttentionArgs& args);

}  // namespace cascade::cuda

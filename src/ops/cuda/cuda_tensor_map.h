// Tensor maps (TMA descriptors) of the KV caches and of matrices, for kernels whose
// operands are fetched by the SM's copy engine (cuda_attention_wgmma.cu,
// cuda_skinny_gemm.cu). Host code; the driver's
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

// A row-major matrix [rows, cols] bf16 (cols % 8 == 0, data 16-byte aligned) seen as a 2-D
// tensor (cols innermost), boxes of 64 columns × box_rows rows (at most 256) landing in
// 128-byte swizzled shared memory (the layout wgmma reads, swizzled_offset); rows and
// columns past the matrix land as zeros. `what` names the matrix in an Error.
CUtensorMap matrix_tensor_map(const bf16* data, int64_t rows, int64_t cols, int box_rows,
                              const char* what);

}  // namespace cascade::cuda

#include "ops/cuda/cuda_tensor_map.h"

#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_check.h"

namespace cascade::cuda {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    CASCADE_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
                                                        cudaEnableDefault, &found));
    check(found == cudaDriverEntryPointSuccess && fn != nullptr,
          "the CUDA driver has no cuTensorMapEncodeTiled (TMA needs driver 12.0+)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

CUtensorMap cache_map(const bf16* cache, const AttentionArgs& args) {
  const auto d = static_cast<cuuint64_t>(args.d), hkv = static_cast<cuuint64_t>(args.hkv);
  const cuuint64_t dims[3] = {d, hkv, static_cast<cuuint64_t>(args.cache_tokens)};
  const cuuint64_t strides[2] = {d * sizeof(bf16), hkv * d * sizeof(bf16)};  // bytes, dims 1, 2
  const cuuint32_t box[3] = {64, 1, 16};
  const cuuint32_t steps[3] = {1, 1, 1};
  CUtensorMap map{};
  const CUresult status = tensor_map_encoder()(
      &map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<bf16*>(cache), dims, strides, box,
      steps, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  check(status == CUDA_SUCCESS, [&] {
    return "attention: cuTensorMapEncodeTiled failed (" + std::to_string(status) +
           ") for a KV cache of " + std::to_string(args.cache_tokens) + " tokens x " +
           std::to_string(args.hkv) + " kv heads x head_dim " + std::to_string(args.d);
  });
  return map;
}

}  // namespace

KvTensorMaps kv_tensor_maps(const AttentionArgs& args) {
  return {cache_map(args.k_cache, args), cache_map(args.v_cache, args)};
}

CUtensorMap matrix_tensor_map(const bf16* data, int64_t rows, int64_t cols, int box_rows,
                              const char* what) {
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols) * sizeof(bf16)};  // bytes, dim 1
  const cuuint32_t box[2] = {64, static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t steps[2] = {1, 1};
  CUtensorMap map{};
  const CUresult status = tensor_map_encoder()(
      &map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<bf16*>(data), dims, strides, box, steps,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  check(status == CUDA_SUCCESS, [&] {
    return std::string(what) + ": cuTensorMapEncodeTiled failed (" + std::to_string(status) +
           ") for a matrix of " + std::to_string(rows) + " x " + std::to_string(cols) +
           " bf16, boxes of " + std::to_string(box_rows) + " rows";
  });
  return map;
}

}  // namespace cascade::cuda

// Matrix products of the linear layers through cuBLASLt: bf16 operands, fp32 accumulation,
// bf16 or f32 output, optional bias fused as an epilogue. The algorithm for each shape is
// chosen once by cuBLASLt's heuristic and cached.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace cascade {

class CudaMatmul {
 public:
  CudaMatmul();
  ~CudaMatmul();
  CudaMatmul(const CudaMatmul&) = delete;
  CudaMatmul& operator=(const CudaMatmul&) = delete;

  // out[rows, n] = x[rows, k] · w[n, k]ᵀ (+ bias[n]), row-major. x, w, bias: bf16;
  // out: f32 when out_f32, else bf16. bias may be null; it needs a bf16 out.
  void run(const void* x, const void* w, const void* bias, void* out, bool out_f32, int64_t rows,
           int64_t n, int64_t k, cudaStream_t stream);

 private:
  struct Plan;
  // rows, n, k, out_f32, bias, alignment of the pointers (bytes)
  using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, int>;
  Plan& plan(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace cascade

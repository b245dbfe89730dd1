// Matrix products of the linear layers through cuBLASLt: bf16 operands, fp32 accumulation,
// bf16 or f32 output, optional bias fused as an epilogue. The algorithm for each shape is
// chosen once by cuBLASLt's heuristic and cached; with CASCADE_MATMUL_TUNE=N (an
// experiment, off by default) the heuristic's first N candidates for a shape of at most
// 1,024 rows are timed on the first call's own operands, the weight out of L2 each time as in a
// decode step, and the fastest kept (one line per shape on stderr).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

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
  Plan& plan(const Key& key, const void* x, const void* w, const void* bias_data, void* out,
             cudaStream_t stream);
  // Times each candidate on these operands; the fastest one's index.
  size_t fastest(Plan& p, const std::vector<cublasLtMatmulAlgo_t>& candidates, const Key& key,
                 const void* x, const void* w, void* out, cudaStream_t stream);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  int tune_candidates_ = 0;   // CASCADE_MATMUL_TUNE
  void* l2_flush_ = nullptr;  // written between timed runs, so that weights come from DRAM
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace cascade

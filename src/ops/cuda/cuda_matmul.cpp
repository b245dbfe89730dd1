#include "ops/cuda/cuda_matmul.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_check.h"

namespace cascade {
namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // what cuBLAS suggests for Hopper
// Written before each timed run of CASCADE_MATMUL_TUNE: twice the H200's L2.
constexpr size_t kL2FlushBytes = size_t{128} << 20;
constexpr int kTimedRuns = 5;
// Prefill steps (more rows, a new count nearly every step) keep the heuristic's choice.
constexpr int64_t kTuneMaxRows = 1024;

// Largest power of two (up to 256) that divides the address.
int alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  int a = 256;
  while (a > 1 && address % static_cast<uintptr_t>(a) != 0) a /= 2;
  return a;
}

}  // namespace

// Row-major out = x · wᵀ is column-major outᵀ [n, rows] = w [k, n]ᵀ · xᵀ [k, rows]:
// A = w transposed, B = x, D = out, all with leading dimension of their row length.
struct CudaMatmul::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

CudaMatmul::CudaMatmul() {
  CASCADE_CUBLAS_CHECK(cublasLtCreate(&handle_));
  CASCADE_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
  tune_candidates_ = env_int("CASCADE_MATMUL_TUNE", 0, 0, 256);
  if (tune_candidates_ > 1) CASCADE_CUDA_CHECK(cudaMalloc(&l2_flush_, kL2FlushBytes));
}

CudaMatmul::~CudaMatmul() {
  plans_.clear();
  if (l2_flush_) cudaFree(l2_flush_);
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

CudaMatmul::Plan& CudaMatmul::plan(const Key& key, const void* x, const void* w,
                                   const void* bias_data, void* out, cudaStream_t stream) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  const auto [rows, n, k, out_f32, bias, align] = key;
  auto p = std::make_unique<Plan>();
  CASCADE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  CASCADE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                      &transpose, sizeof(transpose)));
  CASCADE_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep)));
  if (bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    CASCADE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                        &epilogue, sizeof(epilogue)));
  }
  const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  CASCADE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, u(k), u(n), k));
  CASCADE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, u(k), u(rows), k));
  CASCADE_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&p->d, out_f32 ? CUDA_R_32F : CUDA_R_16BF, u(n), u(rows), n));

  cublasLtMatmulPreference_t preference = nullptr;
  CASCADE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  const uint64_t workspace = kWorkspaceBytes;
  const auto alignment_bytes = static_cast<uint32_t>(align);
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                       &workspace, sizeof(workspace));
  for (const auto attribute :
       {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    cublasLtMatmulPreferenceSetAttribute(preference, attribute, &alignment_bytes,
                                         sizeof(alignment_bytes));
  }
  std::vector<cublasLtMatmulHeuristicResult_t> results(
      static_cast<size_t>(std::max(tune_candidates_, 1)));
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle_, p->desc, p->a, p->b, p->d, p->d, preference,
                                     static_cast<int>(results.size()), results.data(), &found);
  cublasLtMatmulPreferenceDestroy(preference);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0) {
    throw Error("linear: cuBLASLt has no algorithm for [" + std::to_string(rows) + ", " +
                std::to_string(k) + "] x [" + std::to_string(n) + ", " + std::to_string(k) +
                "]ᵀ (" + cublasLtGetStatusString(status) + ")");
  }
  p->algo = results[0].algo;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  CASCADE_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
  if (found > 1 && rows <= kTuneMaxRows && capture == cudaStreamCaptureStatusNone) {
    if (bias_data) {
      CASCADE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
          p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_data, sizeof(bias_data)));
    }
    std::vector<cublasLtMatmulAlgo_t> candidates;
    for (int i = 0; i < found; ++i) candidates.push_back(results[static_cast<size_t>(i)].algo);
    p->algo = candidates[fastest(*p, candidates, key, x, w, out, stream)];
  }
  return *plans_.emplace(key, std::move(p)).first->second;
}

size_t CudaMatmul::fastest(Plan& p, const std::vector<cublasLtMatmulAlgo_t>& candidates,
                           const Key& key, const void* x, const void* w, void* out,
                           cudaStream_t stream) {
  cudaEvent_t start = nullptr, stop = nullptr;
  CASCADE_CUDA_CHECK(cudaEventCreate(&start));
  CASCADE_CUDA_CHECK(cudaEventCreate(&stop));
  const float alpha = 1.0f, beta = 0.0f;
  std::vector<float> medians;
  for (const cublasLtMatmulAlgo_t& algo : candidates) {
    const auto once = [&] {
      return cublasLtMatmul(handle_, p.desc, &alpha, w, p.a, x, p.b, &beta, out, p.d, out, p.d,
                            &algo, workspace_, kWorkspaceBytes, stream);
    };
    if (once() != CUBLAS_STATUS_SUCCESS) {  // a candidate this shape cannot run
      medians.push_back(1e30f);
      continue;
    }
    std::vector<float> ms;
    for (int r = 0; r < kTimedRuns; ++r) {
      CASCADE_CUDA_CHECK(cudaMemsetAsync(l2_flush_, r, kL2FlushBytes, stream));
      CASCADE_CUDA_CHECK(cudaEventRecord(start, stream));
      CASCADE_CUBLAS_CHECK(once());
      CASCADE_CUDA_CHECK(cudaEventRecord(stop, stream));
      CASCADE_CUDA_CHECK(cudaEventSynchronize(stop));
      float elapsed = 0;
      CASCADE_CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
      ms.push_back(elapsed);
    }
    std::nth_element(ms.begin(), ms.begin() + kTimedRuns / 2, ms.end());
    medians.push_back(ms[kTimedRuns / 2]);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const auto best =
      static_cast<size_t>(std::min_element(medians.begin(), medians.end()) - medians.begin());
  const auto [rows, n, k, out_f32, has_bias, align] = key;
  std::fprintf(stderr,
               "matmul tune [%lld, %lld] x [%lld, %lld]T%s: heuristic's first %.2f us, "
               "fastest %.2f us (candidate %zu of %zu)\n",
               static_cast<long long>(rows), static_cast<long long>(k), static_cast<long long>(n),
               static_cast<long long>(k), out_f32 ? " f32" : "", 1e3 * medians[0],
               1e3 * medians[best], best + 1, candidates.size());
  return best;
}

void CudaMatmul::run(const void* x, const void* w, const void* bias, void* out, bool out_f32,
                     int64_t rows, int64_t n, int64_t k, cudaStream_t stream) {
  if (rows == 0) return;
  check(!(bias && out_f32), "linear: a bias needs a bf16 output on the CUDA backend");
  const int align =
      std::min({alignment(x), alignment(w), alignment(out), bias ? alignment(bias) : 256});
  Plan& p = plan({rows, n, k, out_f32, bias != nullptr, align}, x, w, bias, out, stream);
  if (bias) {
    CASCADE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                        &bias, sizeof(bias)));
  }
  const float alpha = 1.0f, beta = 0.0f;
  CASCADE_CUBLAS_CHECK(cublasLtMatmul(handle_, p.desc, &alpha, w, p.a, x, p.b, &beta, out, p.d, out,
                                      p.d, &p.algo, workspace_, kWorkspaceBytes, stream));
}

}  // namespace cascade

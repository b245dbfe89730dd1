// The CPU reference backend: fp32 everywhere, OpenBLAS for matrix products, a thread pool
// over rows for the rest. Each op lives in its own file (cpu_<op>.cpp).
#pragma once

#include <vector>

#include "ops/backend.h"
#include "ops/cpu/thread_pool.h"
#include "ops/op_checks.h"

namespace cascade {

// One caller at a time: attention keeps its scratch buffers in the backend.
class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);

  std::string name() const override { return "cpu"; }
  DType compute_dtype() const override { return DType::F32; }

  Tensor allocate(DType dtype, Shape shape) override;
  Tensor upload(const void* host, DType host_dtype, Shape shape) override;
  void download_f32(const Tensor& t, float* host) override;
  Tensor upload_i32(const int32_t* host, Shape shape) override;
  void write_i32(std::span<const int32_t> host, Tensor& dst) override;

  void embedding(const Tensor& ids, const Tensor& table, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) override;
  void add_inplace(Tensor& acc, const Tensor& x) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  void qkv_store(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm, float eps,
                 const Tensor& positions, const Tensor& slots, const RopeParams& rope, Tensor& q,
                 KvLayer& cache) override;
  void attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                 const AttentionPlan& plan, const RopeParams& rope, Tensor& out) override;

 private:
  ThreadPool pool_;
  // Attention's scratch, kept between calls to avoid reallocation. Per-slot states are
  // laid out [kv_heads, slots, group, ...] so a kv head's queries form one matrix.
  std::vector<float> rotated_q_;        // [hkv, slots, group, d]
  std::vector<float> partial_o_;        // [hkv, slots, group, d]
  std::vector<float> partial_lse_;      // [hkv, slots, group]
  std::vector<float> task_k_, task_v_;  // [kv_len, d]: one kv head of a task, gathered
  std::vector<float> scores_;           // [block rows, kv_len]
  std::vector<float> inv_sum_;          // [block rows]
};

}  // namespace cascade

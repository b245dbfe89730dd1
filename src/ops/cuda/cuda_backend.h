// The CUDA backend: bf16 weights, activations and KV cache with fp32 accumulation,
// cuBLASLt for matrix products, kernels of its own for the rest (cuda_kernels.h). All
// work is ordered on one stream (attention forks a side stream and joins it back within
// the call); download_f32 and synchronize wait for it.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/backend.h"
#include "ops/cuda/cuda_attention_work.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/cuda_host_staging.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_sampled_ids.h"

namespace cascade {
namespace cuda {
struct AttentionStreams;
}

class CudaMatmul;

// Positions the queries' RoPE table holds (CudaBackend::rope_table): B2's and B4's prompts
// reach ~16,600; later positions are computed in the kernels. 16 MB at head_dim 128.
inline constexpr int64_t kRopeTablePositions = 32768;

// One caller at a time: attention and matrix products keep scratch in the backend.
class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  DType compute_dtype() const override { return DType::BF16; }

  Tensor allocate(DType dtype, Shape shape) override;
  Tensor upload(const void* host, DType host_dtype, Shape shape) override;
  void download_f32(const Tensor& t, float* host) override;
  Tensor upload_i32(const int32_t* host, Shape shape) override;

  void embedding(const Tensor& ids, const Tensor& table, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  // out may be bf16 or f32 (e.g. logits kept in f32).
  void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) override;
  void add_inplace(Tensor& acc, const Tensor& x) override;
  void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                    Tensor& out) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  bool linear_into_residual(const Tensor& x, const Tensor& w, Tensor& residual,
                            Tensor& out) override;
  void add_rms_norm_linear(Tensor& residual, const Tensor& pending, const Tensor& norm_weight,
                           float eps, const Tensor& w, const Tensor& bias, Tensor& normed,
                           Tensor& out) override;
  void add_rms_norm_linear_silu_mul(Tensor& residual, const Tensor& pending,
                                    const Tensor& norm_weight, float eps, const Tensor& w_gate_up,
                                    Tensor& normed, Tensor& gate_up, Tensor& out) override;
  bool add_rms_norm_mlp_into_residual(Tensor& residual, const Tensor& pending,
                                      const Tensor& norm_weight, float eps, const Tensor& w_gate_up,
                                      const Tensor& w_down, Tensor& normed, Tensor& gate_up,
                                      Tensor& act, Tensor& out) override;
  void add_rms_norm_linear_qkv_store(Tensor& residual, const Tensor& pending,
                                     const Tensor& norm_weight, float eps, const Tensor& w_qkv,
                                     const Tensor& qkv_bias, Tensor& normed, Tensor& qkv,
                                     const Tensor& q_norm, const Tensor& k_norm,
                                     const Tensor& positions, const Tensor& slots,
                                     const RopeParams& rope, Tensor& q, KvLayer& cache) override;
  void linear_silu_mul(const Tensor& x, const Tensor& w_gate_up, Tensor& gate_up,
                       Tensor& out) override;
  void qkv_store(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm, float eps,
                 const Tensor& positions, const Tensor& slots, const RopeParams& rope, Tensor& q,
                 KvLayer& cache) override;
  void attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                 const AttentionPlan& plan, const RopeParams& rope, Tensor& out) override;
  void prepare_attention(const AttentionPlan& plan, int64_t rows, int64_t hq,
                         const KvLayer& cache) override;

  // On the H200, B3 (a 128-token level shared by 64 rows) ran 0.94-0.96x shared and
  // 1.03-1.05x read per row: a short level read per row comes from L2, while sharing it adds
  // the tensor-core kernel's launch to every layer (docs/BENCHMARKS.md).
  int min_shared_level_tokens() const override { return 256; }
  bool sample(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows,
              std::span<int32_t> out) override;
  bool can_sample_ahead() const override { return true; }
  void sample_ahead(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows) override;
  void finish_sample(std::span<int32_t> out) override;
  void substitute_sampled_ids(std::span<const int32_t> host_ids, Tensor& ids) override;

  void synchronize() override;
  void write_i32(std::span<const int32_t> host, Tensor& dst) override;

  // CUDA graphs: the enqueued work is recorded from this backend's stream; attention
  // launches fixed grids while recording (AttentionGrid), reading the step's work from
  // the plan buffer that prepare_attention fills.
  bool can_capture() const override { return true; }
  std::unique_ptr<StepGraph> capture(const std::function<void()>& enqueue) override;
  uint64_t graph_epoch() const override { return graph_epoch_; }
  // Which task kernels the prepared work launches and on how many blocks (the powers of
  // two at or above its small- and large-tile item counts).
  uint32_t graph_variant() const override;

  // Whether decoder layers of decode steps run their MLP as one kernel (cuda_kernels.h's
  // decode_mlp; 0 off, 1 with 16-byte copies, 2 with bulk copies): CASCADE_DECODE_MLP at
  // creation, default 0 (measured slower on B6, docs/BENCHMARKS.md); tests set it here.
  void set_decode_mlp_mode(int mode);

  // Free and total device memory after the pool's cached blocks are returned.
  DeviceMemory memory();
  // The stream all of this backend's work is queued on (collectives join it).
  cudaStream_t stream() const { return stream_; }

 private:
  // Device memory from the stream-ordered pool; freed when its last Tensor goes.
  void* device_alloc(size_t bytes);
  // Scratch that grows and is reused across calls.
  void* scratch(Tensor& buffer, size_t bytes);
  // Scratch that recorded steps use: grows with headroom, and a new buffer ends the
  // graph epoch.
  void* recorded_scratch(Tensor& buffer, size_t bytes);
  const float* rope_inv_freq(const RopeParams& rope);
  // The queries' (cos, sin) per (position, pair) for positions below kRopeTablePositions
  // (cuda::fill_rope_table), made at the first attention with these parameters; null where
  // CASCADE_ROPE_TABLE is 0, or while a step is being recorded and none exists yet (the
  // kernels then compute them).
  const float2* rope_table(const RopeParams& rope);
  // The plan's kernel work, its packed arrays uploaded to plan_device_; built once per
  // plan (and shapes), reused by every layer of the step.
  const AttentionWork& attention_work(const AttentionPlan& plan, int64_t rows, int64_t num_pages,
                                      int64_t page_size, const AttentionWorkShape& shape);
  AttentionWorkShape attention_shape(int64_t hq, int64_t hkv, int64_t d, int64_t rows) const;
  const cuda::AttentionStreams& attention_streams() const;
  // part_o / part_lse for the work's parts, and merge_count_ for kLastPart's `rows`.
  void reserve_parts(const AttentionWork& work, int64_t rows, int64_t hq, int64_t d);
  // sample() and sample_ahead(): checks, uploads the rows' parameters, queues the kernels;
  // the ids land in sample_out_ ([rows] i32).
  void enqueue_sample(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows);

  struct Context;  // device, stream and cuBLASLt handle; outlives every allocation
  std::shared_ptr<Context> context_;
  cudaStream_t stream_ = nullptr;
  int num_sms_ = 0;
  // The decode MLP kernel's limits; off (blocks 0) unless CASCADE_DECODE_MLP is 1 or 2.
  cuda::DecodeMlpDevice decode_mlp_;
  std::unique_ptr<CudaMatmul> matmul_;
  std::map<std::pair<double, int>, Tensor> inv_freq_;
  std::map<std::pair<double, int>, Tensor> rope_tables_;
  bool use_rope_table_ = true;  // CASCADE_ROPE_TABLE=0: the kernels compute every rotation
  // plan id, rows, pages, page size, group, kv heads, large tile rows (the kernel's)
  using WorkKey = std::tuple<uint64_t, int64_t, int64_t, int64_t, int, int, int>;
  WorkKey work_key_{};
  AttentionWork work_;
  Tensor plan_device_;
  Tensor part_o_, part_lse_;
  Tensor merge_count_;  // AttentionMerge::kLastPart's counts, zeros between launches
  AttentionWorkShape attention_tuning_;  // attention_tuning_from_env, at creation
  Tensor sample_args_, sample_out_, sample_scan_;
  int64_t sampled_rows_ = 0;  // rows the last sampling left in sample_out_
  SampledIdsRing sampled_ahead_;
  // Pinned sources of each step's uploads: inputs (write_i32), attention work, sampling.
  HostStaging inputs_staging_, work_staging_, sample_staging_;
  bool capturing_ = false;
  uint64_t graph_epoch_ = 1;
};

}  // namespace cascade

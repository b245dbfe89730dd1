// The operations the model forward is written against. One implementation per device:
// cpu/ (the reference: fp32, simple, deterministic) and, later, cuda/. Every backend is
// checked against the CPU one. Shapes are row-major; "rows" are the step's tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/tensor.h"
#include "ops/attention_plan.h"

namespace cascade {

// RoPE of Qwen (rotate-half pairs (i, i + d/2)), inv_freq[i] = theta^(-2i/d).
struct RopeParams {
  double theta = 10000.0;
  int head_dim = 0;
};

// One layer's paged KV cache: k and v are [num_pages, page_size, kv_heads, head_dim]
// in the backend's KV dtype. Keys are stored already rotated at their positions.
struct KvLayer {
  Tensor k;
  Tensor v;
};

// What Backend::sample draws for each logits row (every span has one entry per row, or
// top_k / top_p are empty: off for every row). As the host sampler: temperature <= 0 takes
// the argmax (lowest id on ties); otherwise uniform draws from softmax(logits /
// temperature), restricted to the top_k best ids where 0 < top_k < the logits' width, then
// to the shortest best-first prefix of those whose mass reaches top_p where top_p < 1.
struct SampleRows {
  std::span<const float> temperature;
  std::span<const double> uniform;
  std::span<const int32_t> top_k;
  std::span<const float> top_p;
};

// A recorded step of one backend (Backend::capture).
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // dtype used for weights, activations and KV on this backend (f32 on the CPU).
  virtual DType compute_dtype() const = 0;

  virtual Tensor allocate(DType dtype, Shape shape) = 0;
  // Host f32/f16/bf16 data -> a new tensor of compute_dtype() on this backend.
  virtual Tensor upload(const void* host, DType host_dtype, Shape shape) = 0;
  // Backend tensor -> host f32 (`host` holds numel() floats).
  virtual void download_f32(const Tensor& t, float* host) = 0;
  // Host i32 -> backend i32 tensor.
  virtual Tensor upload_i32(const int32_t* host, Shape shape) = 0;

  // out[r] = table[ids[r]].  ids: [rows] i32; table: [vocab, hidden]; out: [rows, hidden].
  virtual void embedding(const Tensor& ids, const Tensor& table, Tensor& out) = 0;
  // out = x / rms(x) * weight over the last dim. x, out: [rows, dim]; weight: [dim].
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // out = x · wᵀ (+ bias). x: [rows, in]; w: [out, in]; bias: [out] or undefined;
  // out: [rows, out].
  virtual void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) = 0;
  // acc += x, elementwise, same shape.
  virtual void add_inplace(Tensor& acc, const Tensor& x) = 0;
  // residual += x, then out = rms_norm(residual): the residual add of a layer and the norm
  // after it, which a backend may fuse. residual, x, out: [rows, dim]; weight: [dim].
  virtual void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                            Tensor& out) {
    add_inplace(residual, x);
    rms_norm(residual, weight, eps, out);
  }
  // out = silu(gate) * up where gate_up = [gate | up]. gate_up: [rows, 2n]; out: [rows, n].
  virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  // out = silu_mul(x · w_gate_upᵀ): an MLP's up projection and activation, which a backend
  // may fuse (gate_up: [rows, 2n] scratch for the product, left unwritten when fused).
  // x: [rows, in]; w_gate_up: [2n, in]; out: [rows, n].
  virtual void linear_silu_mul(const Tensor& x, const Tensor& w_gate_up, Tensor& gate_up,
                               Tensor& out) {
    linear(x, w_gate_up, Tensor{}, gate_up);
    silu_mul(gate_up, out);
  }

  // The residual stream of a decoder layer, in ops a backend may fuse into its linear
  // layers (steps of a few rows are short kernels, each boundary costing more than the work
  // next to it). linear_into_residual: residual += x · wᵀ (the product rounded to the
  // compute dtype first), returning true; or, where the backend does not fuse the add,
  // out = x · wᵀ, returning false: the caller passes out as the next op's `pending`.
  // x: [rows, in]; w: [dim, in]; residual, out: [rows, dim].
  virtual bool linear_into_residual(const Tensor& x, const Tensor& w, Tensor& /*residual*/,
                                    Tensor& out) {
    linear(x, w, Tensor{}, out);
    return false;
  }
  // residual += pending (where defined), then out = rms_norm(residual) · wᵀ (+ bias): a
  // layer's residual add, the norm after it and the projection after that. normed: [rows,
  // dim] scratch for the norm (left unwritten when fused). residual, pending, normed:
  // [rows, dim]; norm_weight: [dim]; w: [out, dim]; bias: [out] or undefined; out: [rows,
  // out].
  virtual void add_rms_norm_linear(Tensor& residual, const Tensor& pending,
                                   const Tensor& norm_weight, float eps, const Tensor& w,
                                   const Tensor& bias, Tensor& normed, Tensor& out) {
    norm_residual(residual, pending, norm_weight, eps, normed);
    linear(normed, w, bias, out);
  }
  // The same with an MLP's up projection and activation after the norm: out =
  // silu_mul(rms_norm(residual) · w_gate_upᵀ); gate_up: [rows, 2n] scratch (linear_silu_mul).
  virtual void add_rms_norm_linear_silu_mul(Tensor& residual, const Tensor& pending,
                                            const Tensor& norm_weight, float eps,
                                            const Tensor& w_gate_up, Tensor& normed,
                                            Tensor& gate_up, Tensor& out) {
    norm_residual(residual, pending, norm_weight, eps, normed);
    linear_silu_mul(normed, w_gate_up, gate_up, out);
  }

  // A decoder layer's whole MLP in the residual stream: act = silu_mul(rms_norm(residual
  // + pending) · w_gate_upᵀ) (add_rms_norm_linear_silu_mul), then the down projection into
  // the residual (linear_into_residual, whose return value and `out` this returns). A
  // backend may run both as one (GPUs, decode rows). w_down: [dim, n]; act: [rows, n];
  // out: [rows, dim]; the rest as in add_rms_norm_linear_silu_mul.
  virtual bool add_rms_norm_mlp_into_residual(Tensor& residual, const Tensor& pending,
                                              const Tensor& norm_weight, float eps,
                                              const Tensor& w_gate_up, const Tensor& w_down,
                                              Tensor& normed, Tensor& gate_up, Tensor& act,
                                              Tensor& out) {
    add_rms_norm_linear_silu_mul(residual, pending, norm_weight, eps, w_gate_up, normed, gate_up,
                                 act);
    return linear_into_residual(act, w_down, residual, out);
  }

  // The same with an attention's QKV projection and qkv_store after the norm: qkv =
  // rms_norm(residual) · w_qkvᵀ + qkv_bias, then qkv_store(qkv, ...). qkv: [rows, (hq +
  // 2·hkv)·d] (left unwritten when fused); the rest as in those two ops.
  virtual void add_rms_norm_linear_qkv_store(Tensor& residual, const Tensor& pending,
                                             const Tensor& norm_weight, float eps,
                                             const Tensor& w_qkv, const Tensor& qkv_bias,
                                             Tensor& normed, Tensor& qkv, const Tensor& q_norm,
                                             const Tensor& k_norm, const Tensor& positions,
                                             const Tensor& slots, const RopeParams& rope, Tensor& q,
                                             KvLayer& cache) {
    add_rms_norm_linear(residual, pending, norm_weight, eps, w_qkv, qkv_bias, normed, qkv);
    qkv_store(qkv, q_norm, k_norm, eps, positions, slots, rope, q, cache);
  }

  // Splits qkv [rows, (hq + 2·hkv)·d] into q [rows, hq, d] (un-rotated), and writes k
  // (rotated at `positions`) and v into the cache at `slots` (page·page_size + offset).
  // q_norm / k_norm: [d] per-head RMSNorm weights, or undefined to skip (Qwen2).
  // positions, slots: [rows] i32.
  virtual void qkv_store(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm, float eps,
                         const Tensor& positions, const Tensor& slots, const RopeParams& rope,
                         Tensor& q, KvLayer& cache) = 0;

  // Attention of q [rows, hq, d] (un-rotated, at `positions` [rows] i32) over the cache
  // as the plan's tasks, merged per row; out: [rows, hq, d]. Rows past plan.num_rows are
  // padding (of a step recorded as a graph) and get zeros.
  virtual void attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                         const AttentionPlan& plan, const RopeParams& rope, Tensor& out) = 0;
  // Derives the plan's kernel work for q rows of `rows` × `hq` heads over caches shaped
  // like `cache` ahead of the step's attention calls, so that a recorded step (capture)
  // replays with this plan. Called once per step, before its kernels are enqueued (CUDA
  // also chooses there whether they launch with PDL). No-op on the CPU.
  virtual void prepare_attention(const AttentionPlan& /*plan*/, int64_t /*rows*/, int64_t /*hq*/,
                                 const KvLayer& /*cache*/) {}
  // Shared levels shorter than this are cheaper read by each sequence than as one shared
  // task (EngineConfig::cascade_min_shared_tokens = -1 takes it). CUDA's is measured; this
  // default (the CPU's) is the engine's earlier setting, not tuned.
  virtual int min_shared_level_tokens() const { return 16; }

  // Samples the rows of logits [rows, vocab] f32 where they are, with the host sampler's
  // arithmetic (src/engine/sampler.h), over the ids [0, usable_vocab) (the others count as
  // -inf), as SampleRows says. out[r] = the token id, or -1 for a row with a NaN or +inf
  // logit or only -inf ones (the host sampler then names the fault). Returns false, doing
  // nothing, where sampling is left to the host: the CPU backend (its logits are already
  // there).
  virtual bool sample(const Tensor& /*logits*/, int64_t /*usable_vocab*/,
                      const SampleRows& /*rows*/, std::span<int32_t> /*out*/) {
    return false;
  }

  // Sampling one step ahead (asynchronous scheduling): sample_ahead queues what sample()
  // does and the copy of the ids to the host, and returns at once; finish_sample waits for
  // the oldest outstanding sample_ahead and gives its ids (out: [its rows], -1 as sample()
  // gives). At most two are outstanding. The next step's ids may name the last draw's rows
  // (substitute_sampled_ids), so it is enqueued before its tokens reach the host.
  // can_sample_ahead() is false where the backend cannot (the CPU: its logits are already
  // on the host); the others then throw.
  virtual bool can_sample_ahead() const { return false; }
  virtual void sample_ahead(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows);
  virtual void finish_sample(std::span<int32_t> out);
  // ids: [n] i32 of this backend, host_ids: the same n values as written. Each id < 0
  // becomes, in queue order, the id the last sample_ahead drew for its row -id - 1 (0 for a
  // row it could not sample). Nothing is queued when no id is < 0.
  virtual void substitute_sampled_ids(std::span<const int32_t> host_ids, Tensor& ids);

  // Waits until all queued work is done (no-op on the CPU).
  virtual void synchronize() {}

  // host [n] i32 -> dst's first n elements (an i32 tensor of this backend), in order with
  // the queued work.
  virtual void write_i32(std::span<const int32_t> host, Tensor& dst) = 0;

  // Steps recorded once and replayed (CUDA graphs). capture() records the work `enqueue`
  // queues, without running it; null where the backend cannot record (can_capture() is
  // false: the CPU). A replay
  // reads the same buffers; what they hold then (inputs written with write_i32, the plan
  // of prepare_attention) is what it computes with. graph_epoch() changes whenever the
  // backend replaces a buffer that recorded work may use: older graphs must be dropped.
  virtual bool can_capture() const { return false; }
  virtual std::unique_ptr<StepGraph> capture(const std::function<void()>& /*enqueue*/) {
    return nullptr;
  }
  virtual uint64_t graph_epoch() const { return 0; }
  // Which optional kernels the step prepared last (prepare_attention) launches: a step
  // recorded under one variant replays only for steps of the same variant, so that a
  // recording launches no kernel with nothing to do.
  virtual uint32_t graph_variant() const { return 0; }

 protected:
  // residual += pending (where defined), then normed = rms_norm(residual).
  void norm_residual(Tensor& residual, const Tensor& pending, const Tensor& norm_weight, float eps,
                     Tensor& normed) {
    if (pending.defined()) {
      add_rms_norm(residual, pending, norm_weight, eps, normed);
    } else {
      rms_norm(residual, norm_weight, eps, normed);
    }
  }
};

// The CPU reference backend; `threads` <= 0 picks the machine's core count.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);

}  // namespace cascade

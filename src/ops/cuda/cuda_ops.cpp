// The CUDA backend's row and elementwise ops and linear: argument checks, then a launch.
#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_matmul.h"
#include "ops/op_checks.h"

namespace cascade {
namespace {

cuda::bf16* bf16_data(const Tensor& t) {
  return static_cast<cuda::bf16*>(t.data);
}

}  // namespace

// ids: [rows] i32; table: [vocab, hidden] bf16; out: [rows, hidden] bf16.
void CudaBackend::embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
  check_embedding_args(ids, table, out, DType::BF16);
  cuda::embedding(ids.as<int32_t>(), bf16_data(table), ids.dim(0), table.dim(0), table.dim(1),
                  bf16_data(out), stream_);
}

// x, out: [rows, dim] bf16; weight: [dim] bf16.
void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  check_rms_norm_args(x, weight, out, DType::BF16);
  cuda::rms_norm(bf16_data(x), bf16_data(weight), x.dim(0), x.dim(1), eps, bf16_data(out), stream_);
}

// x: [rows, in] bf16; w: [out, in] bf16; bias: [out] bf16 or undefined; out: [rows, out]
// bf16 or f32.
void CudaBackend::linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& out) {
  check_linear_args(x, w, bias, out, DType::BF16,
                    out.dtype == DType::F32 ? DType::F32 : DType::BF16);
  const int64_t rows = x.dim(0), in = x.dim(1), n_out = w.dim(0);
  const bool out_f32 = out.dtype == DType::F32;
  if (cuda::gemv_fits(rows, in, x.data, w.data)) {  // decode: read the weight once, fast
    cuda::gemv(bf16_data(x), bf16_data(w), bias.defined() ? bf16_data(bias) : nullptr, out.data,
               out_f32, rows, n_out, in, stream_);
    return;
  }
  if (!out_f32 && cuda::skinny_gemm_fits(rows, n_out, in, x.data, w.data, out.data)) {
    cuda::skinny_gemm(bf16_data(x), bf16_data(w), bias.defined() ? bf16_data(bias) : nullptr,
                      bf16_data(out), rows, n_out, in, num_sms_, stream_);
    return;
  }
  // f32 outputs take the bias in a kernel of their own (the epilogue's bias type follows D).
  matmul_->run(x.data, w.data, bias.defined() && !out_f32 ? bias.data : nullptr, out.data, out_f32,
               rows, n_out, in, stream_);
  if (bias.defined() && out_f32) {
    cuda::add_bias_f32(out.as<float>(), bf16_data(bias), rows, n_out, stream_);
  }
}

// acc, x: same shape, bf16.
void CudaBackend::add_inplace(Tensor& acc, const Tensor& x) {
  check_add_args(acc, x, DType::BF16);
  cuda::add_inplace(bf16_data(acc), bf16_data(x), acc.numel(), stream_);
}

// residual, x, out: [rows, dim] bf16; weight: [dim] bf16.
void CudaBackend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps,
                               Tensor& out) {
  check_add_args(residual, x, DType::BF16);
  check_rms_norm_args(residual, weight, out, DType::BF16);
  check(out.data != residual.data, "add_rms_norm: out must not alias residual");
  cuda::add_rms_norm(bf16_data(residual), bf16_data(x), bf16_data(weight), residual.dim(0),
                     residual.dim(1), eps, bf16_data(out), stream_);
}

// gate_up: [rows, 2n] bf16 (gate | up); out: [rows, n] bf16.
void CudaBackend::linear_silu_mul(const Tensor& x, const Tensor& w_gate_up, Tensor& gate_up,
                                  Tensor& out) {
  check_linear_args(x, w_gate_up, Tensor{}, gate_up, DType::BF16, DType::BF16);
  check_silu_mul_args(gate_up, out, DType::BF16);
  const int64_t rows = x.dim(0), in = x.dim(1), n = out.dim(1);
  if (!cuda::gemv_fits(rows, in, x.data, w_gate_up.data)) {  // not a decode step: two kernels
    Backend::linear_silu_mul(x, w_gate_up, gate_up, out);
    return;
  }
  cuda::gemv_silu_mul(bf16_data(x), bf16_data(w_gate_up), bf16_data(out), rows, n, in, stream_);
}

// x: [rows, in] bf16; w: [dim, in] bf16; residual, out: [rows, dim] bf16. Decode rows
// add in the GEMV's epilogue; other steps leave the add to the next add_rms_norm.
bool CudaBackend::linear_into_residual(const Tensor& x, const Tensor& w, Tensor& residual,
                                       Tensor& out) {
  check_linear_args(x, w, Tensor{}, out, DType::BF16, DType::BF16);
  check_add_args(residual, out, DType::BF16);
  const int64_t rows = x.dim(0), in = x.dim(1);
  if (!cuda::gemv_fits(rows, in, x.data, w.data))
    return Backend::linear_into_residual(x, w, residual, out);
  cuda::gemv_add(bf16_data(x), bf16_data(w), bf16_data(residual), rows, w.dim(0), in, stream_);
  return true;
}

// residual, pending, normed: [rows, dim] bf16; norm_weight: [dim] bf16; w: [out, dim]
// bf16; out: [rows, out] bf16. With nothing pending, decode rows normalize inside the GEMV.
void CudaBackend::add_rms_norm_linear(Tensor& residual, const Tensor& pending,
                                      const Tensor& norm_weight, float eps, const Tensor& w,
                                      const Tensor& bias, Tensor& normed, Tensor& out) {
  check_rms_norm_args(residual, norm_weight, normed, DType::BF16);
  check_linear_args(normed, w, bias, out, DType::BF16, DType::BF16);
  const int64_t rows = residual.dim(0), dim = residual.dim(1);
  if (pending.defined() || !cuda::gemv_norm_fits(rows, dim, residual.data, w.data)) {
    Backend::add_rms_norm_linear(residual, pending, norm_weight, eps, w, bias, normed, out);
    return;
  }
  cuda::rms_norm_gemv(bf16_data(residual), bf16_data(norm_weight), eps, bf16_data(w),
                      bias.defined() ? bf16_data(bias) : nullptr, bf16_data(out), rows, w.dim(0),
                      dim, stream_);
}

// As add_rms_norm_linear, with linear_silu_mul's shapes: w_gate_up: [2n, dim]; gate_up:
// [rows, 2n]; out: [rows, n] bf16.
void CudaBackend::add_rms_norm_linear_silu_mul(Tensor& residual, const Tensor& pending,
                                               const Tensor& norm_weight, float eps,
                                               const Tensor& w_gate_up, Tensor& normed,
                                               Tensor& gate_up, Tensor& out) {
  check_rms_norm_args(residual, norm_weight, normed, DType::BF16);
  check_linear_args(normed, w_gate_up, Tensor{}, gate_up, DType::BF16, DType::BF16);
  check_silu_mul_args(gate_up, out, DType::BF16);
  const int64_t rows = residual.dim(0), dim = residual.dim(1);
  if (pending.defined() || !cuda::gemv_norm_fits(rows, dim, residual.data, w_gate_up.data)) {
    Backend::add_rms_norm_linear_silu_mul(residual, pending, norm_weight, eps, w_gate_up, normed,
                                          gate_up, out);
    return;
  }
  cuda::rms_norm_gemv_silu_mul(bf16_data(residual), bf16_data(norm_weight), eps,
                               bf16_data(w_gate_up), bf16_data(out), rows, out.dim(1), dim,
                               stream_);
}

// As add_rms_norm_linear_silu_mul then linear_into_residual (their shapes). Decode rows
// with nothing pending run as one kernel (the down projection's weights read while the up
// projection runs).
bool CudaBackend::add_rms_norm_mlp_into_residual(Tensor& residual, const Tensor& pending,
                                                 const Tensor& norm_weight, float eps,
                                                 const Tensor& w_gate_up, const Tensor& w_down,
                                                 Tensor& normed, Tensor& gate_up, Tensor& act,
                                                 Tensor& out) {
  check_rms_norm_args(residual, norm_weight, normed, DType::BF16);
  check_linear_args(normed, w_gate_up, Tensor{}, gate_up, DType::BF16, DType::BF16);
  check_silu_mul_args(gate_up, act, DType::BF16);
  check_linear_args(act, w_down, Tensor{}, out, DType::BF16, DType::BF16);
  check_add_args(residual, out, DType::BF16);
  const int64_t rows = residual.dim(0), dim = residual.dim(1), n = act.dim(1);
  if (pending.defined() || !cuda::decode_mlp_fits(decode_mlp_, rows, dim, n,
                                                  {residual.data, norm_weight.data, w_gate_up.data,
                                                   w_down.data, act.data})) {
    return Backend::add_rms_norm_mlp_into_residual(residual, pending, norm_weight, eps, w_gate_up,
                                                   w_down, normed, gate_up, act, out);
  }
  cuda::decode_mlp(decode_mlp_, bf16_data(residual), bf16_data(norm_weight), eps,
                   bf16_data(w_gate_up), bf16_data(w_down), bf16_data(act), rows, dim, n, stream_);
  return true;
}

// As add_rms_norm_linear then qkv_store (their shapes). Decode rows of a model without q/k
// norms with nothing pending run as one GEMV kernel whose epilogue stores q, k and v.
void CudaBackend::add_rms_norm_linear_qkv_store(Tensor& residual, const Tensor& pending,
                                                const Tensor& norm_weight, float eps,
                                                const Tensor& w_qkv, const Tensor& qkv_bias,
                                                Tensor& normed, Tensor& qkv, const Tensor& q_norm,
                                                const Tensor& k_norm, const Tensor& positions,
                                                const Tensor& slots, const RopeParams& rope,
                                                Tensor& q, KvLayer& cache) {
  check_rms_norm_args(residual, norm_weight, normed, DType::BF16);
  check_linear_args(normed, w_qkv, qkv_bias, qkv, DType::BF16, DType::BF16);
  check_qkv_store_args(qkv, q_norm, k_norm, positions, slots, rope, q, cache, DType::BF16);
  const int64_t rows = residual.dim(0), dim = residual.dim(1);
  const int d = static_cast<int>(q.dim(2));
  if (pending.defined() || q_norm.defined() ||
      !cuda::gemv_qkv_store_fits(rows, dim, d, residual.data, w_qkv.data)) {
    Backend::add_rms_norm_linear_qkv_store(residual, pending, norm_weight, eps, w_qkv, qkv_bias,
                                           normed, qkv, q_norm, k_norm, positions, slots, rope, q,
                                           cache);
    return;
  }
  const cuda::QkvStoreArgs store{positions.as<int32_t>(),
                                 slots.as<int32_t>(),
                                 rope_inv_freq(rope),
                                 static_cast<int>(q.dim(1)),
                                 static_cast<int>(cache.k.dim(2)),
                                 d,
                                 cache.k.dim(0) * cache.k.dim(1),
                                 bf16_data(q),
                                 bf16_data(cache.k),
                                 bf16_data(cache.v)};
  cuda::rms_norm_gemv_qkv_store(bf16_data(residual), bf16_data(norm_weight), eps, bf16_data(w_qkv),
                                qkv_bias.defined() ? bf16_data(qkv_bias) : nullptr, rows, dim,
                                store, stream_);
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  check_silu_mul_args(gate_up, out, DType::BF16);
  cuda::silu_mul(bf16_data(gate_up), gate_up.dim(0), out.dim(1), bf16_data(out), stream_);
}

// qkv: [rows, (hq + 2·hkv)·d] bf16; q_norm, k_norm: [d] bf16 or undefined; positions,
// slots: [rows] i32; q: [rows, hq, d] bf16; cache.k, cache.v: [pages, page_size, hkv, d]
// bf16. Slots live on the device, so they are not checked here; a slot outside the cache
// writes nothing.
void CudaBackend::qkv_store(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm,
                            float eps, const Tensor& positions, const Tensor& slots,
                            const RopeParams& rope, Tensor& q, KvLayer& cache) {
  check_qkv_store_args(qkv, q_norm, k_norm, positions, slots, rope, q, cache, DType::BF16);
  const int64_t rows = qkv.dim(0), hq = q.dim(1), d = q.dim(2), hkv = cache.k.dim(2);
  check(d % 2 == 0 && d <= 256, [&] {
    return "qkv_store: head_dim " + std::to_string(d) +
           " must be even and at most 256 on the CUDA backend";
  });
  cuda::qkv_store(bf16_data(qkv), q_norm.defined() ? bf16_data(q_norm) : nullptr,
                  k_norm.defined() ? bf16_data(k_norm) : nullptr, eps, positions.as<int32_t>(),
                  slots.as<int32_t>(), rope_inv_freq(rope), rows, static_cast<int>(hq),
                  static_cast<int>(hkv), static_cast<int>(d), cache.k.dim(0) * cache.k.dim(1),
                  bf16_data(q), bf16_data(cache.k), bf16_data(cache.v), stream_);
}

}  // namespace cascade

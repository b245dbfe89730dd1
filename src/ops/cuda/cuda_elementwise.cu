// Row gathers and elementwise kernels: embedding, add_inplace, silu_mul, add_bias_f32.
#include <atomic>
#include <cstdint>

#include "base/env_int.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.cuh"

namespace cascade::cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n, int64_t per_block) {
  const int64_t blocks = (n + per_block - 1) / per_block;
  return static_cast<int>(blocks < 65535 * 16 ? (blocks > 0 ? blocks : 1) : 65535 * 16);
}

// One block per output row; 16-byte copies when the row allows them.
__global__ void embedding_kernel(const int32_t* ids, const bf16* table, int64_t vocab,
                                 int64_t hidden, bool vectorized, bf16* out) {
  wait_prior_grids();
  const int64_t r = blockIdx.x;
  const int32_t id = ids[r];
  bf16* dst = out + r * hidden;
  if (id < 0 || id >= vocab) {
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = __float2bfloat16(NAN);
    return;
  }
  const bf16* src = table + id * hidden;
  if (vectorized) {
    const auto* s = reinterpret_cast<const uint4*>(src);
    auto* d = reinterpret_cast<uint4*>(dst);
    for (int64_t i = threadIdx.x; i < hidden / 8; i += blockDim.x) d[i] = s[i];
  } else {
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = src[i];
  }
}

__global__ void add_kernel(bf16* acc, const bf16* x, int64_t n) {
  wait_prior_grids();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    acc[i] = __float2bfloat16(__bfloat162float(acc[i]) + __bfloat162float(x[i]));
  }
}

__global__ void add_pairs_kernel(__nv_bfloat162* acc, const __nv_bfloat162* x, int64_t pairs) {
  wait_prior_grids();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < pairs;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float2 a = __bfloat1622float2(acc[i]), b = __bfloat1622float2(x[i]);
    acc[i] = __floats2bfloat162_rn(a.x + b.x, a.y + b.y);
  }
}

__global__ void silu_mul_kernel(const bf16* gate_up, int64_t rows, int64_t n, bf16* out) {
  wait_prior_grids();
  const int64_t total = rows * n;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / n, c = i % n;
    const float g = __bfloat162float(gate_up[r * 2 * n + c]);
    const float u = __bfloat162float(gate_up[r * 2 * n + n + c]);
    out[i] = __float2bfloat16(g / (1.0f + expf(-g)) * u);
  }
}

// silu_mul by 8 consecutive columns a thread: 16-byte loads of gate and up, one 16-byte
// store, the row from the grid's y (no 64-bit division per element); the same arithmetic
// per element as silu_mul_kernel. n % 8 == 0; gate_up and out 16-byte aligned.
__global__ void silu_mul_by_8_kernel(const bf16* gate_up, int64_t n, bf16* out) {
  wait_prior_grids();
  const int64_t r = blockIdx.y;
  const int64_t c = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) * 8;
  if (c >= n) return;
  const uint4 g8 = *reinterpret_cast<const uint4*>(gate_up + r * 2 * n + c);
  const uint4 u8 = *reinterpret_cast<const uint4*>(gate_up + r * 2 * n + n + c);
  const auto* g = reinterpret_cast<const bf16*>(&g8);
  const auto* u = reinterpret_cast<const bf16*>(&u8);
  uint4 o8;
  auto* o = reinterpret_cast<bf16*>(&o8);
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    const float gf = __bfloat162float(g[e]);
    o[e] = __float2bfloat16(gf / (1.0f + expf(-gf)) * __bfloat162float(u[e]));
  }
  *reinterpret_cast<uint4*>(out + r * n + c) = o8;
}

__global__ void add_bias_f32_kernel(float* out, const bf16* bias, int64_t rows, int64_t n) {
  wait_prior_grids();
  const int64_t total = rows * n;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] += __bfloat162float(bias[i % n]);
  }
}

// silu_mul_by_8_kernel where it fits (CASCADE_SILU_MUL_BY_8, default 1).
std::atomic<bool> silu_mul_by_8 = true;

}  // namespace

void prepare_silu_mul() {
  set_silu_mul_by_8(env_int("CASCADE_SILU_MUL_BY_8", 1, 0, 1) == 1);
}

void set_silu_mul_by_8(bool on) {
  silu_mul_by_8 = on;
}

bool silu_mul_by_8_enabled() {
  return silu_mul_by_8;
}

void embedding(const int32_t* ids, const bf16* table, int64_t rows, int64_t vocab, int64_t hidden,
               bf16* out, cudaStream_t stream) {
  if (rows == 0) return;
  const bool vectorized = hidden % 8 == 0 && reinterpret_cast<uintptr_t>(table) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(out) % 16 == 0;
  launch("embedding_kernel", embedding_kernel, static_cast<unsigned>(rows), 128, 0, stream, ids,
         table, vocab, hidden, vectorized, out);
}

void add_inplace(bf16* acc, const bf16* x, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const bool paired = n % 2 == 0 && reinterpret_cast<uintptr_t>(acc) % 4 == 0 &&
                      reinterpret_cast<uintptr_t>(x) % 4 == 0;
  if (paired) {
    launch("add_pairs_kernel", add_pairs_kernel, grid_for(n / 2, kThreads), kThreads, 0, stream,
           reinterpret_cast<__nv_bfloat162*>(acc), reinterpret_cast<const __nv_bfloat162*>(x),
           n / 2);
  } else {
    launch("add_kernel", add_kernel, grid_for(n, kThreads), kThreads, 0, stream, acc, x, n);
  }
}

void silu_mul(const bf16* gate_up, int64_t rows, int64_t n, bf16* out, cudaStream_t stream) {
  if (rows * n == 0) return;
  const bool by_8 = silu_mul_by_8.load(std::memory_order_relaxed) && n % 8 == 0 &&
                    reinterpret_cast<uintptr_t>(gate_up) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(out) % 16 == 0 && rows <= 65535;
  if (by_8) {
    constexpr int kBy8Threads = 128;
    const dim3 grid(static_cast<unsigned>((n / 8 + kBy8Threads - 1) / kBy8Threads),
                    static_cast<unsigned>(rows));
    launch("silu_mul_by_8_kernel", silu_mul_by_8_kernel, grid, kBy8Threads, 0, stream, gate_up, n,
           out);
    return;
  }
  launch("silu_mul_kernel", silu_mul_kernel, grid_for(rows * n, kThreads), kThreads, 0, stream,
         gate_up, rows, n, out);
}

void add_bias_f32(float* out, const bf16* bias, int64_t rows, int64_t n, cudaStream_t stream) {
  if (rows * n == 0) return;
  launch("add_bias_f32_kernel", add_bias_f32_kernel, grid_for(rows * n, kThreads), kThreads, 0,
         stream, out, bias, rows, n);
}

}  // namespace cascade::cuda

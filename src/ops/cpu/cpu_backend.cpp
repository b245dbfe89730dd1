#include "ops/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "ops/op_checks.h"

namespace cascade {

CpuBackend::CpuBackend(int threads) : pool_(threads) {
  // OpenBLAS keeps one process-wide thread count; an explicit request sets it.
  if (threads > 0) openblas_set_num_threads(threads);
}

Tensor CpuBackend::allocate(DType dtype, Shape shape) {
  for (int64_t d : shape)
    check(d >= 0, [&] { return "allocate: negative dimension in " + shape_string(shape); });
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  // 64-byte aligned, zeroed, at least one cache line so that empty tensors are defined.
  const size_t bytes = (std::max<size_t>(t.nbytes(), 1) + 63) / 64 * 64;
  void* memory = std::aligned_alloc(64, bytes);
  if (!memory) throw Error("allocate: out of memory for " + std::to_string(bytes) + " bytes");
  std::memset(memory, 0, bytes);
  t.storage = std::shared_ptr<void>(memory, std::free);
  t.data = memory;
  return t;
}

Tensor CpuBackend::upload(const void* host, DType host_dtype, Shape shape) {
  check(host_dtype == DType::F32 || host_dtype == DType::F16 || host_dtype == DType::BF16, [&] {
    return "upload: host dtype must be f32, f16 or bf16, got " +
           std::string(dtype_name(host_dtype));
  });
  Tensor t = allocate(DType::F32, std::move(shape));
  convert_to_f32(host, host_dtype, static_cast<size_t>(t.numel()), t.as<float>());
  return t;
}

void CpuBackend::download_f32(const Tensor& t, float* host) {
  check(t.dtype == DType::F32, [&] {
    return "download_f32: tensor must be f32, got " + std::string(dtype_name(t.dtype));
  });
  // An empty tensor may come with null pointers, which memcpy must not get even for 0 bytes.
  if (t.nbytes() > 0) std::memcpy(host, t.data, t.nbytes());
}

Tensor CpuBackend::upload_i32(const int32_t* host, Shape shape) {
  Tensor t = allocate(DType::I32, std::move(shape));
  if (t.nbytes() > 0) std::memcpy(t.data, host, t.nbytes());
  return t;
}

void CpuBackend::write_i32(std::span<const int32_t> host, Tensor& dst) {
  check_write_i32(host.size(), dst);
  if (!host.empty()) std::memcpy(dst.data, host.data(), host.size_bytes());
}

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace cascade

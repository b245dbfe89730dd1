#include "ops/cuda/cuda_backend.h"

#include <cstring>
#include <limits>
#include <vector>

#include "base/env_int.h"
#include "base/error.h"
#include "ops/cuda/cuda_attention_mma.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.h"
#include "ops/cuda/cuda_matmul.h"
#include "ops/op_checks.h"

namespace cascade {

struct CudaBackend::Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cuda::AttentionStreams attention;  // main = stream; side, fork and join owned here
  ~Context() {
    if (attention.side) {
      cudaStreamSynchronize(attention.side);
      cudaStreamDestroy(attention.side);
    }
    if (attention.fork) cudaEventDestroy(attention.fork);
    if (attention.join) cudaEventDestroy(attention.join);
    if (stream) {
      cudaStreamSynchronize(stream);
      cudaStreamDestroy(stream);
    }
  }
};

CudaBackend::CudaBackend(int device) : context_(std::make_shared<Context>()) {
  CASCADE_CUDA_CHECK(cudaSetDevice(device));
  context_->device = device;
  CASCADE_CUDA_CHECK(cudaStreamCreateWithFlags(&context_->stream, cudaStreamNonBlocking));
  stream_ = context_->stream;
  cuda::AttentionStreams& attention = context_->attention;
  attention.main = stream_;
  CASCADE_CUDA_CHECK(cudaStreamCreateWithFlags(&attention.side, cudaStreamNonBlocking));
  CASCADE_CUDA_CHECK(cudaEventCreateWithFlags(&attention.fork, cudaEventDisableTiming));
  CASCADE_CUDA_CHECK(cudaEventCreateWithFlags(&attention.join, cudaEventDisableTiming));
  CASCADE_CUDA_CHECK(cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, device));
  // Keep freed blocks in the stream-ordered pool: per-step tensors then cost no driver call.
  cudaMemPool_t pool;
  CASCADE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep_all = std::numeric_limits<uint64_t>::max();
  CASCADE_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  matmul_ = std::make_unique<CudaMatmul>();
  cuda::prepare_attention_mma_kernels();
  cuda::prepare_attention_task_kernels();
  cuda::prepare_skinny_gemm();
  cuda::prepare_split_sampling();
  cuda::prepare_silu_mul();
  cuda::prepare_gemv_rows();
  cuda::prepare_qkv_store();
  attention_tuning_ = attention_tuning_from_env(num_sms_);
  use_rope_table_ = env_int("CASCADE_ROPE_TABLE", 1, 0, 1) != 0;
  decode_mlp_ = cuda::decode_mlp_device(device, env_int("CASCADE_DECODE_MLP", 0, 0, 2));
  cuda::configure_programmatic_launch();
}

CudaBackend::~CudaBackend() = default;

void CudaBackend::set_decode_mlp_mode(int mode) {
  decode_mlp_ = cuda::decode_mlp_device(context_->device, mode);
}

const cuda::AttentionStreams& CudaBackend::attention_streams() const {
  return context_->attention;
}

void* CudaBackend::device_alloc(size_t bytes) {
  void* memory = nullptr;
  const cudaError_t status = cudaMallocAsync(&memory, std::max<size_t>(bytes, 256), stream_);
  if (status != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky; keep the context usable
    throw Error("allocate: cannot allocate " + std::to_string(bytes) +
                " bytes on the GPU: " + cudaGetErrorString(status));
  }
  return memory;
}

Tensor CudaBackend::allocate(DType dtype, Shape shape) {
  for (int64_t d : shape)
    check(d >= 0, [&] { return "allocate: negative dimension in " + shape_string(shape); });
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  void* memory = device_alloc(t.nbytes());
  // The context (and its stream) lives as long as the last allocation.
  std::shared_ptr<Context> context = context_;
  t.storage =
      std::shared_ptr<void>(memory, [context](void* p) { cudaFreeAsync(p, context->stream); });
  t.data = memory;
  // Zeroed like the CPU backend's memory, so unwritten pages never hold NaN.
  CASCADE_CUDA_CHECK(cudaMemsetAsync(memory, 0, t.nbytes(), stream_));
  return t;
}

Tensor CudaBackend::upload(const void* host, DType host_dtype, Shape shape) {
  check(host_dtype == DType::F32 || host_dtype == DType::F16 || host_dtype == DType::BF16, [&] {
    return "upload: host dtype must be f32, f16 or bf16, got " +
           std::string(dtype_name(host_dtype));
  });
  Tensor t = allocate(DType::BF16, std::move(shape));
  const auto count = static_cast<size_t>(t.numel());
  std::vector<uint16_t> converted;
  const void* src = host;
  if (host_dtype != DType::BF16) {
    converted.resize(count);
    if (host_dtype == DType::F32) {
      const auto* f = static_cast<const float*>(host);
      for (size_t i = 0; i < count; ++i) converted[i] = f32_to_bf16(f[i]);
    } else {
      const auto* h = static_cast<const uint16_t*>(host);
      for (size_t i = 0; i < count; ++i) converted[i] = f32_to_bf16(f16_to_f32(h[i]));
    }
    src = converted.data();
  }
  // From pageable memory the copy returns once the data is staged, so `converted` may go.
  CASCADE_CUDA_CHECK(cudaMemcpyAsync(t.data, src, t.nbytes(), cudaMemcpyHostToDevice, stream_));
  return t;
}

void CudaBackend::download_f32(const Tensor& t, float* host) {
  check(t.dtype == DType::F32 || t.dtype == DType::BF16, [&] {
    return "download_f32: tensor must be f32 or bf16, got " + std::string(dtype_name(t.dtype));
  });
  if (t.dtype == DType::F32) {
    CASCADE_CUDA_CHECK(cudaMemcpyAsync(host, t.data, t.nbytes(), cudaMemcpyDeviceToHost, stream_));
    CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }
  std::vector<uint16_t> raw(static_cast<size_t>(t.numel()));
  CASCADE_CUDA_CHECK(
      cudaMemcpyAsync(raw.data(), t.data, t.nbytes(), cudaMemcpyDeviceToHost, stream_));
  CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  convert_to_f32(raw.data(), DType::BF16, raw.size(), host);
}

Tensor CudaBackend::upload_i32(const int32_t* host, Shape shape) {
  Tensor t;
  t.dtype = DType::I32;
  t.shape = std::move(shape);
  for (int64_t d : t.shape) check(d >= 0, "upload_i32: negative dimension");
  void* memory = device_alloc(t.nbytes());
  std::shared_ptr<Context> context = context_;
  t.storage =
      std::shared_ptr<void>(memory, [context](void* p) { cudaFreeAsync(p, context->stream); });
  t.data = memory;
  if (t.nbytes() > 0) {
    CASCADE_CUDA_CHECK(cudaMemcpyAsync(t.data, host, t.nbytes(), cudaMemcpyHostToDevice, stream_));
  }
  return t;
}

void* CudaBackend::scratch(Tensor& buffer, size_t bytes) {
  if (!buffer.defined() || buffer.nbytes() < bytes) {
    buffer = Tensor{};  // freed in stream order, after the work that used it
    buffer = allocate(DType::F32, {static_cast<int64_t>((bytes + 3) / 4)});
  }
  return buffer.data;
}

void* CudaBackend::recorded_scratch(Tensor& buffer, size_t bytes) {
  if (buffer.defined() && buffer.nbytes() >= bytes) return buffer.data;
  ++graph_epoch_;
  return scratch(buffer, 2 * bytes);
}

void CudaBackend::write_i32(std::span<const int32_t> host, Tensor& dst) {
  check_write_i32(host.size(), dst);
  // A recorded copy would replay the staging buffer's later contents.
  check(!capturing_, "write_i32: a step's inputs are written before it is recorded");
  inputs_staging_.upload(dst.data, host.data(), host.size_bytes(), stream_);
}

void CudaBackend::synchronize() {
  CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

DeviceMemory CudaBackend::memory() {
  synchronize();
  cudaMemPool_t pool;
  CASCADE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, context_->device));
  CASCADE_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
  size_t free_bytes = 0, total_bytes = 0;
  CASCADE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return {static_cast<int64_t>(free_bytes), static_cast<int64_t>(total_bytes)};
}

int cuda_device_count(std::string* why_none) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (why_none) *why_none = cudaGetErrorString(status);
    return 0;
  }
  if (count == 0 && why_none) *why_none = "no CUDA device";
  return count;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  return std::make_unique<CudaBackend>(device);
}

DeviceMemory cuda_device_memory(Backend& backend) {
  auto* cuda = dynamic_cast<CudaBackend*>(&backend);
  check(cuda != nullptr,
        [&] { return "device memory: backend '" + backend.name() + "' is not the CUDA one"; });
  return cuda->memory();
}

}  // namespace cascade

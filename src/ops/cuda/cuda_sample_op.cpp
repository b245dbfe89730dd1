// CudaBackend::sample: the rows' temperatures and draws go up in one copy, the token ids
// come back in one; the logits never leave the device.
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade {

// logits: [rows, vocab] f32; temperature, uniform, out: [rows].
bool CudaBackend::sample(const Tensor& logits, int64_t usable_vocab,
                         std::span<const float> temperature, std::span<const double> uniform,
                         std::span<int32_t> out) {
  check(logits.dtype == DType::F32 && logits.rank() == 2, [&] {
    return "sample: logits must be [rows, vocab] f32, got " + shape_string(logits.shape) + " " +
           std::string(dtype_name(logits.dtype));
  });
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  const auto n = static_cast<size_t>(rows);
  check(temperature.size() == n && uniform.size() == n && out.size() == n, [&] {
    return "sample: " + std::to_string(rows) + " logits rows but " +
           std::to_string(temperature.size()) + " temperatures, " + std::to_string(uniform.size()) +
           " draws, " + std::to_string(out.size()) + " outputs";
  });
  check(vocab > 0 && vocab <= INT32_MAX,
        [&] { return "sample: vocabulary of " + std::to_string(vocab) + " must be in [1, 2^31)"; });
  check(usable_vocab > 0 && usable_vocab <= vocab, [&] {
    return "sample: usable_vocab " + std::to_string(usable_vocab) + " must be in [1, " +
           std::to_string(vocab) + "]";
  });
  if (rows == 0) return true;
  // [uniform f64 × rows][temperature f32 × rows]: the f64s first keep both aligned.
  std::vector<std::byte> args(n * (sizeof(double) + sizeof(float)));
  std::memcpy(args.data(), uniform.data(), n * sizeof(double));
  std::memcpy(args.data() + n * sizeof(double), temperature.data(), n * sizeof(float));
  auto* args_device = static_cast<std::byte*>(scratch(sample_args_, args.size()));
  CASCADE_CUDA_CHECK(
      cudaMemcpyAsync(args_device, args.data(), args.size(), cudaMemcpyHostToDevice, stream_));
  auto* mass = static_cast<double*>(scratch(
      sample_mass_, static_cast<size_t>(cuda::sample_rows_scratch_bytes(rows, usable_vocab))));
  auto* ids = static_cast<int32_t*>(scratch(sample_out_, n * sizeof(int32_t)));
  cuda::sample_rows(logits.as<float>(), rows, vocab, usable_vocab,
                    reinterpret_cast<const float*>(args_device + n * sizeof(double)),
                    reinterpret_cast<const double*>(args_device), mass, ids, stream_);
  CASCADE_CUDA_CHECK(
      cudaMemcpyAsync(out.data(), ids, n * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return true;
}

}  // namespace cascade

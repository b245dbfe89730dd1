// CudaBackend::sample: the rows' parameters and draws go up in one copy, the token ids
// come back in one; the logits never leave the device.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade {

// logits: [rows, vocab] f32; every span of `rows`: [rows] (top_k, top_p may be empty).
void CudaBackend::enqueue_sample(const Tensor& logits, int64_t usable_vocab,
                                 const SampleRows& rows_in) {
  check(logits.dtype == DType::F32 && logits.rank() == 2, [&] {
    return "sample: logits must be [rows, vocab] f32, got " + shape_string(logits.shape) + " " +
           std::string(dtype_name(logits.dtype));
  });
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  const auto n = static_cast<size_t>(rows);
  const auto fits = [&](size_t size, bool may_be_empty) {
    return size == n || (may_be_empty && size == 0);
  };
  check(fits(rows_in.temperature.size(), false) && fits(rows_in.uniform.size(), false) &&
            fits(rows_in.top_k.size(), true) && fits(rows_in.top_p.size(), true),
        [&] {
          return "sample: " + std::to_string(rows) + " logits rows but " +
                 std::to_string(rows_in.temperature.size()) + " temperatures, " +
                 std::to_string(rows_in.uniform.size()) + " draws, " +
                 std::to_string(rows_in.top_k.size()) + " top_k, " +
                 std::to_string(rows_in.top_p.size()) + " top_p";
        });
  check(vocab > 0 && vocab <= cuda::kMaxSampledVocab,
        [&] { return "sample: vocabulary of " + std::to_string(vocab) + " must be in [1, 2^23]"; });
  check(usable_vocab > 0 && usable_vocab <= vocab, [&] {
    return "sample: usable_vocab " + std::to_string(usable_vocab) + " must be in [1, " +
           std::to_string(vocab) + "]";
  });
  std::vector<int32_t> top_k(n, 0);
  std::vector<float> top_p(n, 1.0f);
  if (!rows_in.top_k.empty()) top_k.assign(rows_in.top_k.begin(), rows_in.top_k.end());
  if (!rows_in.top_p.empty()) top_p.assign(rows_in.top_p.begin(), rows_in.top_p.end());
  sampled_rows_ = rows;
  if (rows == 0) return;
  // [uniform f64 × rows][temperature f32 × rows][top_p f32 × rows][top_k i32 × rows]: the
  // f64s first keep every array aligned.
  const size_t f64_bytes = n * sizeof(double), f32_bytes = n * sizeof(float);
  std::vector<std::byte> args(f64_bytes + 3 * f32_bytes);
  std::memcpy(args.data(), rows_in.uniform.data(), f64_bytes);
  std::memcpy(args.data() + f64_bytes, rows_in.temperature.data(), f32_bytes);
  std::memcpy(args.data() + f64_bytes + f32_bytes, top_p.data(), f32_bytes);
  std::memcpy(args.data() + f64_bytes + 2 * f32_bytes, top_k.data(), f32_bytes);
  auto* args_device = static_cast<std::byte*>(scratch(sample_args_, args.size()));
  sample_staging_.upload(args_device, args.data(), args.size(), stream_);
  auto* ids = static_cast<int32_t*>(scratch(sample_out_, n * sizeof(int32_t)));
  const auto scan_bytes = static_cast<size_t>(cuda::sample_rows_scratch_bytes(rows, usable_vocab));
  void* scan = scan_bytes > 0 ? scratch(sample_scan_, scan_bytes) : nullptr;
  const bool any_temperature = std::any_of(rows_in.temperature.begin(), rows_in.temperature.end(),
                                           [](float t) { return t > 0.0f; });
  cuda::sample_rows(logits.as<float>(), rows, vocab, usable_vocab,
                    reinterpret_cast<const float*>(args_device + f64_bytes),
                    reinterpret_cast<const double*>(args_device),
                    reinterpret_cast<const int32_t*>(args_device + f64_bytes + 2 * f32_bytes),
                    reinterpret_cast<const float*>(args_device + f64_bytes + f32_bytes),
                    any_temperature, scan, ids, stream_);
}

bool CudaBackend::sample(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows,
                         std::span<int32_t> out) {
  check(logits.rank() == 2 && static_cast<int64_t>(out.size()) == logits.dim(0), [&] {
    return "sample: " + shape_string(logits.shape) + " logits but " + std::to_string(out.size()) +
           " outputs";
  });
  enqueue_sample(logits, usable_vocab, rows);
  if (out.empty()) return true;
  CASCADE_CUDA_CHECK(cudaMemcpyAsync(out.data(), sample_out_.data, out.size_bytes(),
                                     cudaMemcpyDeviceToHost, stream_));
  CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return true;
}

void CudaBackend::sample_ahead(const Tensor& logits, int64_t usable_vocab, const SampleRows& rows) {
  // Checked before anything is queued: a refused call leaves the last draw in place.
  check(sampled_ahead_.outstanding() < SampledIdsRing::kSlots, [] {
    return "sample_ahead: " + std::to_string(SampledIdsRing::kSlots) +
           " steps are sampled ahead already; finish_sample one first";
  });
  enqueue_sample(logits, usable_vocab, rows);
  sampled_ahead_.push(sampled_rows_ > 0 ? sample_out_.as<int32_t>() : nullptr, sampled_rows_,
                      stream_);
}

void CudaBackend::finish_sample(std::span<int32_t> out) {
  sampled_ahead_.pop(out);
}

// ids: [n] i32 with n = host_ids.size().
void CudaBackend::substitute_sampled_ids(std::span<const int32_t> host_ids, Tensor& ids) {
  int32_t lowest = 0;
  for (int32_t id : host_ids) lowest = std::min(lowest, id);
  if (lowest >= 0) return;
  check(-static_cast<int64_t>(lowest) <= sampled_rows_, [&] {
    return "substitute_sampled_ids: id " + std::to_string(lowest) + " names row " +
           std::to_string(-static_cast<int64_t>(lowest) - 1) + " of a draw of " +
           std::to_string(sampled_rows_) + " rows";
  });
  check(ids.dtype == DType::I32 && ids.numel() >= static_cast<int64_t>(host_ids.size()),
        "substitute_sampled_ids: ids must be i32 with at least as many elements as host_ids");
  check(!capturing_, "substitute_sampled_ids: a step's inputs are set before it is recorded");
  cuda::substitute_sampled_ids(ids.as<int32_t>(), static_cast<int64_t>(host_ids.size()),
                               sample_out_.as<int32_t>(), stream_);
}

}  // namespace cascade

#include "ops/cuda/cuda_sampled_ids.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_check.h"

namespace cascade {

SampledIdsRing::~SampledIdsRing() {
  for (Slot& slot : slots_) {
    if (slot.copied) {
      cudaEventSynchronize(slot.copied);
      cudaEventDestroy(slot.copied);
    }
    if (slot.pinned) cudaFreeHost(slot.pinned);
  }
}

void SampledIdsRing::push(const int32_t* device_ids, int64_t n, cudaStream_t stream) {
  check(outstanding_ < kSlots, [] {
    return "sample_ahead: " + std::to_string(kSlots) +
           " steps are sampled ahead already; finish_sample one first";
  });
  Slot& slot = slots_[static_cast<size_t>(next_)];
  if (!slot.copied) {
    CASCADE_CUDA_CHECK(cudaEventCreateWithFlags(&slot.copied, cudaEventDisableTiming));
  }
  if (n > slot.capacity) {  // the slot is not outstanding, so its last copy was waited for
    if (slot.pinned) CASCADE_CUDA_CHECK(cudaFreeHost(slot.pinned));
    slot.pinned = nullptr;
    slot.capacity = 0;
    const int64_t grown = std::max<int64_t>(2 * n, 256);
    CASCADE_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&slot.pinned),
                                     static_cast<size_t>(grown) * sizeof(int32_t),
                                     cudaHostAllocDefault));
    slot.capacity = grown;
  }
  slot.rows = n;
  if (n > 0) {
    CASCADE_CUDA_CHECK(cudaMemcpyAsync(slot.pinned, device_ids,
                                       static_cast<size_t>(n) * sizeof(int32_t),
                                       cudaMemcpyDeviceToHost, stream));
  }
  CASCADE_CUDA_CHECK(cudaEventRecord(slot.copied, stream));
  next_ = (next_ + 1) % kSlots;
  ++outstanding_;
}

void SampledIdsRing::pop(std::span<int32_t> out) {
  check(outstanding_ > 0, "finish_sample: no step was sampled ahead");
  Slot& slot = slots_[static_cast<size_t>((next_ - outstanding_ + kSlots) % kSlots)];
  check(static_cast<int64_t>(out.size()) == slot.rows, [&] {
    return "finish_sample: the step sampled " + std::to_string(slot.rows) + " rows, out holds " +
           std::to_string(out.size());
  });
  CASCADE_CUDA_CHECK(cudaEventSynchronize(slot.copied));
  std::copy(slot.pinned, slot.pinned + slot.rows, out.begin());
  --outstanding_;
}

}  // namespace cascade

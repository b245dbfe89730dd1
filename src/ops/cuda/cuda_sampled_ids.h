// Pinned host slots for the token ids of steps sampled ahead (CudaBackend::sample_ahead):
// each step's ids are copied from the device into a slot of their own, so the host reads
// one step's ids while the next step, queued behind it, is sampled into the other slot.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cascade {

class SampledIdsRing {
 public:
  static constexpr int kSlots = 2;  // the step being read and the one queued behind it

  SampledIdsRing() = default;
  ~SampledIdsRing();
  SampledIdsRing(const SampledIdsRing&) = delete;
  SampledIdsRing& operator=(const SampledIdsRing&) = delete;

  // Queues the copy of device ids [n] i32 into the next slot; Error when kSlots are
  // outstanding.
  void push(const int32_t* device_ids, int64_t n, cudaStream_t stream);
  // Waits for the oldest outstanding copy and gives its ids (out: [its n]); Error when
  // none is outstanding or out has another size.
  void pop(std::span<int32_t> out);
  int outstanding() const { return outstanding_; }

 private:
  struct Slot {
    int32_t* pinned = nullptr;
    int64_t capacity = 0;
    int64_t rows = 0;
    cudaEvent_t copied = nullptr;
  };
  std::array<Slot, kSlots> slots_{};
  int next_ = 0;         // the slot push fills
  int outstanding_ = 0;  // pushed, not popped
};

}  // namespace cascade

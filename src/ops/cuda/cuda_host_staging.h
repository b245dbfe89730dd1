// Pinned host memory for one kind of per-step host-to-device copy (a step's token ids and
// positions, its attention work, its sampling parameters). A copy from pageable memory is
// staged by the driver first and may wait for the stream's earlier work; one from pinned
// memory is only queued, so the GPU is not left idle between steps while the host copies.
// The buffer is refilled only after the copy from it has run (an event marks that), so a
// caller may upload again at once; in a step that waited for the GPU the event is done.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace cascade {

class HostStaging {
 public:
  HostStaging() = default;
  ~HostStaging();
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;

  // Copies `bytes` from `host` to `device` in `stream`'s order, through the pinned buffer.
  void upload(void* device, const void* host, size_t bytes, cudaStream_t stream);

 private:
  void wait_for_last_copy();

  void* pinned_ = nullptr;
  size_t capacity_ = 0;
  cudaEvent_t copied_ = nullptr;  // recorded after the last copy from pinned_
  bool pending_ = false;
};

}  // namespace cascade

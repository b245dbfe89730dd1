#include "ops/cuda/cuda_host_staging.h"

#include <algorithm>
#include <cstring>

#include "ops/cuda/cuda_check.h"

namespace cascade {

HostStaging::~HostStaging() {
  if (pending_) cudaEventSynchronize(copied_);
  if (pinned_) cudaFreeHost(pinned_);
  if (copied_) cudaEventDestroy(copied_);
}

void HostStaging::wait_for_last_copy() {
  if (pending_) CASCADE_CUDA_CHECK(cudaEventSynchronize(copied_));
  pending_ = false;
}

void HostStaging::upload(void* device, const void* host, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return;
  wait_for_last_copy();
  if (!copied_) CASCADE_CUDA_CHECK(cudaEventCreateWithFlags(&copied_, cudaEventDisableTiming));
  if (bytes > capacity_) {
    if (pinned_) CASCADE_CUDA_CHECK(cudaFreeHost(pinned_));
    pinned_ = nullptr;
    capacity_ = 0;
    // Headroom: a step's inputs grow with its rows and context a little at a time.
    const size_t grown = std::max<size_t>(2 * bytes, 4096);
    CASCADE_CUDA_CHECK(cudaMallocHost(&pinned_, grown));
    capacity_ = grown;
  }
  std::memcpy(pinned_, host, bytes);
  CASCADE_CUDA_CHECK(cudaMemcpyAsync(device, pinned_, bytes, cudaMemcpyHostToDevice, stream));
  CASCADE_CUDA_CHECK(cudaEventRecord(copied_, stream));
  pending_ = true;
}

}  // namespace cascade

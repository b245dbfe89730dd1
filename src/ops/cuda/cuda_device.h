// The CUDA backend's entry points that need no CUDA headers, for the backend factory.
#pragma once

#include <memory>
#include <string>

#include "ops/backend.h"
#include "ops/backend_factory.h"

namespace cascade {

// Number of usable GPUs; 0 when there is no driver or device, with the reason in
// `why_none` when given.
int cuda_device_count(std::string* why_none);

std::unique_ptr<Backend> make_cuda_backend(int device);

// `backend` must be a CudaBackend (name() == "cuda").
DeviceMemory cuda_device_memory(Backend& backend);

}  // namespace cascade

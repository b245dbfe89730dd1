// Choosing a backend by name, and what the engine needs to size its KV cache on it.
//   "cpu"  the CPU reference backend (fp32);
//   "cuda" the CUDA backend (bf16) on GPU 0; Error when this build has none or no GPU;
//   "auto" CUDA when this build has it and a GPU is present, else the CPU.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ops/backend.h"

namespace cascade {

// `cpu_threads` <= 0 picks the machine's core count (CPU backend only). `gpu` is the CUDA
// device (a tensor-parallel rank's); Error when there are not that many.
std::unique_ptr<Backend> make_backend(const std::string& device, int cpu_threads = 0,
                                      int gpu = 0);

// Whether this build contains the CUDA backend, and whether a usable GPU is present.
bool cuda_backend_built();
bool cuda_device_present();

struct DeviceMemory {
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
};

// Free and total memory of the backend's device, after the backend's cached free blocks
// are returned to the device; nullopt for the CPU backend (host memory is not sized here).
std::optional<DeviceMemory> device_memory(Backend& backend);

// Bytes a KV cache may take so that the process uses at most `utilization` of the device:
// total · utilization − (total − free), measured after weights and activations are
// allocated; never negative.
int64_t kv_cache_budget(const DeviceMemory& memory, double utilization);

}  // namespace cascade

#include "ops/backend_factory.h"

#include <algorithm>

#include "base/error.h"
#ifdef CASCADE_HAVE_CUDA
#include "ops/cuda/cuda_device.h"
#endif

namespace cascade {

bool cuda_backend_built() {
#ifdef CASCADE_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_device_present() {
#ifdef CASCADE_HAVE_CUDA
  return cuda_device_count(nullptr) > 0;
#else
  return false;
#endif
}

std::unique_ptr<Backend> make_backend(const std::string& device, int cpu_threads, int gpu) {
  check(device == "auto" || device == "cpu" || device == "cuda",
        "device must be 'auto', 'cpu' or 'cuda' (got '" + device + "')");
  if (device == "cpu") return make_cpu_backend(cpu_threads);
#ifdef CASCADE_HAVE_CUDA
  std::string why_none;
  const int gpus = cuda_device_count(&why_none);
  check(gpu < gpus || gpus == 0,
        "device 'cuda': GPU " + std::to_string(gpu) + " wanted, " + std::to_string(gpus) +
            " present (tensor_parallel_size needs one GPU per rank)");
  if (gpus > 0) return make_cuda_backend(gpu);
  check(device == "auto", "device 'cuda': no usable CUDA GPU (" + why_none + ")");
#else
  check(device == "auto", "device 'cuda': this build of cascade has no CUDA backend");
#endif
  (void)gpu;
  return make_cpu_backend(cpu_threads);
}

std::optional<DeviceMemory> device_memory(Backend& backend) {
#ifdef CASCADE_HAVE_CUDA
  if (backend.name() == "cuda") return cuda_device_memory(backend);
#endif
  (void)backend;
  return std::nullopt;
}

int64_t kv_cache_budget(const DeviceMemory& memory, double utilization) {
  check(utilization > 0.0 && utilization <= 1.0,
        "gpu_memory_utilization must be in (0, 1], got " + std::to_string(utilization));
  const auto allowed = static_cast<int64_t>(static_cast<double>(memory.total_bytes) * utilization);
  return std::max<int64_t>(0, allowed - (memory.total_bytes - memory.free_bytes));
}

}  // namespace cascade

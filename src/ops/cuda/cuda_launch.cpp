#include "ops/cuda/cuda_launch.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/error.h"

namespace cascade::cuda {
namespace {

// Atomic: tensor-parallel ranks create backends and launch kernels from threads of their own.
std::atomic<bool> use_pdl = false;
thread_local bool step_allows = true;  // allow_programmatic_launch_in_step

bool pdl_supported() {
  int device = 0, major = 0;
  return cudaGetDevice(&device) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
         major >= 9;
}

}  // namespace

void configure_programmatic_launch() {
  const char* value = std::getenv("CASCADE_PDL");
  if (value == nullptr) {  // on by default where the GPU has it
    set_programmatic_launch(pdl_supported());
    return;
  }
  check(std::strcmp(value, "0") == 0 || std::strcmp(value, "1") == 0,
        [&] { return "CASCADE_PDL: expected 0 or 1, got '" + std::string(value) + "'"; });
  set_programmatic_launch(std::strcmp(value, "1") == 0);
}

bool programmatic_launch_enabled() {
  return step_allows && programmatic_launch_on();
}

bool programmatic_launch_on() {
  return use_pdl.load(std::memory_order_relaxed);
}

void set_programmatic_launch(bool on) {
  check(!on || pdl_supported(),
        "CASCADE_PDL: programmatic dependent launch needs compute capability 9.0 or later");
  use_pdl = on;
}

void allow_programmatic_launch_in_step(bool allowed) {
  step_allows = allowed;
}

}  // namespace cascade::cuda

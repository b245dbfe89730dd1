// Our kernels' launches, with Hopper's programmatic dependent launch (PDL) when enabled:
// a kernel's blocks may then be scheduled while the kernel before it on the stream is
// finishing (as its blocks exit), instead of after it. Every kernel of ours starts with
// wait_prior_grids(), which returns once the kernels before it have completed and their
// writes are visible (at once when launched without PDL), so launching with or without PDL
// computes the same. What PDL saves is the gap between short kernels (a decode step is
// dozens of 3-10 µs kernels) and, for the decode GEMVs, the weights' latency: a GEMV asks
// for its weights (into registers) before it waits, then releases its dependents, and the
// attention task kernel releases them at its start, so the next GEMV's weights stream in
// while attention runs (B6 1,159 -> 1,387 tok/s on an H200, 2026-12-01). On by default
// where the GPU has compute capability 9.0 (CASCADE_PDL=0: off), and only in steps of at
// most kGemvMaxRows rows (step_takes_programmatic_launch): in larger steps it measured
// 10-18 % slower on the attention kernels and within the noise elsewhere.
#pragma once

#include <cuda_runtime.h>

#include <string>
#include <utility>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_launch.h"

namespace cascade::cuda {

// Device: lets the next kernel on the stream launch (when it was launched with PDL) before
// this one ends; it still waits for this one in wait_prior_grids().
__device__ __forceinline__ void release_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Device: first thing in every kernel, before it reads or writes global memory that
// kernels before it write. Waits for those kernels (complete, their writes visible); with
// PDL this kernel's blocks may be resident before they complete. Without PDL it returns at
// once.
__device__ __forceinline__ void wait_prior_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

inline void check_launch(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw_cuda_error(status, (std::string("launch of ") + what).c_str(), __FILE__, __LINE__);
  }
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...) with the first `count` of
// `attributes`; a failed launch is an Error naming `what`.
template <class... Params, class... Args>
void launch_with_attributes(const char* what, cudaLaunchAttribute* attributes, unsigned count,
                            void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                            cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  config.attrs = attributes;
  config.numAttrs = count;
  check_launch(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), what);
}

// The attribute that lets a kernel launch before the one ahead of it on the stream ends.
inline cudaLaunchAttribute programmatic_launch_attribute() {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  return attribute;
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...) with one launch attribute; a
// failed launch is an Error naming `what`.
template <class... Params, class... Args>
void launch_with(const char* what, const cudaLaunchAttribute& attribute, void (*kernel)(Params...),
                 dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attributes[] = {attribute};
  launch_with_attributes(what, attributes, 1, kernel, grid, block, shared_bytes, stream,
                         std::forward<Args>(args)...);
}

// launch_with, and PDL when enabled.
template <class... Params, class... Args>
void launch_with_pdl(const char* what, const cudaLaunchAttribute& attribute,
                     void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                     cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attributes[] = {attribute, programmatic_launch_attribute()};
  launch_with_attributes(what, attributes, programmatic_launch_enabled() ? 2 : 1, kernel, grid,
                         block, shared_bytes, stream, std::forward<Args>(args)...);
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...), with PDL when enabled; a failed
// launch is an Error naming `what`.
template <class... Params, class... Args>
void launch(const char* what, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  if (!programmatic_launch_enabled()) {
    kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
    check_launch(cudaGetLastError(), what);
    return;
  }
  launch_with(what, programmatic_launch_attribute(), kernel, grid, block, shared_bytes, stream,
              std::forward<Args>(args)...);
}

}  // namespace cascade::cuda

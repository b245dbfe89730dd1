// Status checks for CUDA runtime and cuBLASLt calls: a failure becomes a one-line
// cascade::Error naming the call, its place in the source and the runtime's message.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <string>

#include "base/error.h"

namespace cascade {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* what, const char* file,
                                          int line) {
  throw Error(std::string("CUDA error: ") + what + " at " + file + ":" + std::to_string(line) +
              ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char* what,
                                            const char* file, int line) {
  throw Error(std::string("cuBLASLt error: ") + what + " at " + file + ":" + std::to_string(line) +
              ": " + cublasLtGetStatusName(status) + " (" + cublasLtGetStatusString(status) + ")");
}

}  // namespace cascade

#define CASCADE_CUDA_CHECK(call)                                               \
  do {                                                                         \
    const cudaError_t cascade_status_ = (call);                                \
    if (cascade_status_ != cudaSuccess) {                                      \
      ::cascade::throw_cuda_error(cascade_status_, #call, __FILE__, __LINE__); \
    }                                                                          \
  } while (0)

// After a kernel launch: launch-configuration errors and earlier asynchronous faults.
#define CASCADE_CUDA_CHECK_LAUNCH(kernel_name)                                                    \
  do {                                                                                            \
    const cudaError_t cascade_status_ = cudaGetLastError();                                       \
    if (cascade_status_ != cudaSuccess) {                                                         \
      ::cascade::throw_cuda_error(cascade_status_, "launch of " kernel_name, __FILE__, __LINE__); \
    }                                                                                             \
  } while (0)

#define CASCADE_CUBLAS_CHECK(call)                                               \
  do {                                                                           \
    const cublasStatus_t cascade_status_ = (call);                               \
    if (cascade_status_ != CUBLAS_STATUS_SUCCESS) {                              \
      ::cascade::throw_cublas_error(cascade_status_, #call, __FILE__, __LINE__); \
    }                                                                            \
  } while (0)

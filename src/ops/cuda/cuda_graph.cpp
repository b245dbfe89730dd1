// CudaBackend::capture: a step's work recorded from the backend's stream as a CUDA graph
// and replayed with one launch (decode steps are a few hundred short kernels, which the
// host cannot launch as fast as the GPU runs them).
#include <cuda_runtime_api.h>

#include <string>

#include "base/error.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_check.h"

namespace cascade {
namespace {

class CudaStepGraph final : public StepGraph {
 public:
  CudaStepGraph(cudaGraphExec_t exec, cudaStream_t stream) : exec_(exec), stream_(stream) {}
  ~CudaStepGraph() override { cudaGraphExecDestroy(exec_); }
  CudaStepGraph(const CudaStepGraph&) = delete;
  CudaStepGraph& operator=(const CudaStepGraph&) = delete;

  void replay() override { CASCADE_CUDA_CHECK(cudaGraphLaunch(exec_, stream_)); }

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
};

}  // namespace

std::unique_ptr<StepGraph> CudaBackend::capture(const std::function<void()>& enqueue) {
  check(!capturing_, "capture: already recording");
  // Thread-local mode: other ranks' threads keep using CUDA while this one records.
  CASCADE_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  capturing_ = true;
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (...) {
    capturing_ = false;
    cudaStreamEndCapture(stream_, &graph);  // ends the (invalidated) capture either way
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  capturing_ = false;
  CASCADE_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiateWithFlags(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error(std::string("capture: cannot instantiate the step's CUDA graph: ") +
                cudaGetErrorString(status));
  }
  return std::make_unique<CudaStepGraph>(exec, stream_);
}

}  // namespace cascade

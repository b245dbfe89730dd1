#include "ops/cuda/nccl_communicator.h"

#include <nccl.h>

#include <string>

#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_check.h"

#define CASCADE_NCCL_CHECK(call)                                                             \
  do {                                                                                       \
    const ncclResult_t cascade_nccl_status_ = (call);                                        \
    if (cascade_nccl_status_ != ncclSuccess) {                                               \
      throw ::cascade::Error(std::string("NCCL error: ") + #call + " at " + __FILE__ + ":" + \
                             std::to_string(__LINE__) + ": " +                               \
                             ncclGetErrorString(cascade_nccl_status_));                      \
    }                                                                                        \
  } while (0)

namespace cascade {
namespace {

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return ncclFloat32;
    case DType::BF16:
      return ncclBfloat16;
    default:
      throw Error("NCCL collective: tensor must be f32 or bf16, got " +
                  std::string(dtype_name(dtype)));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, CudaBackend& backend, int rank, int world)
      : comm_(comm), backend_(backend), stream_(backend.stream()), rank_(rank), world_(world) {}
  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  void all_reduce_sum(Tensor& t) override {
    CASCADE_NCCL_CHECK(ncclAllReduce(t.data, t.data, static_cast<size_t>(t.numel()),
                                     nccl_type(t.dtype), ncclSum, comm_, stream_));
  }

  // NCCL gathers whole buffers rank after rank ([world, rows, n]); strided copies put each
  // rank's block into its columns of out [rows, world·n].
  void all_gather_columns(const Tensor& local, Tensor& out) override {
    check_all_gather_args(local, out, world_);
    const int64_t rows = local.dim(0), n = local.dim(1);
    if (gathered_.numel() < world_ * rows * n) {
      gathered_ = backend_.allocate(DType::F32, {world_, rows, n});
    }
    CASCADE_NCCL_CHECK(ncclAllGather(local.data, gathered_.data, static_cast<size_t>(rows * n),
                                     ncclFloat32, comm_, stream_));
    const size_t width = static_cast<size_t>(n) * sizeof(float);
    for (int r = 0; r < world_; ++r) {
      CASCADE_CUDA_CHECK(cudaMemcpy2DAsync(
          out.as<float>() + r * n, width * world_, gathered_.as<float>() + r * rows * n, width,
          width, static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, stream_));
    }
  }

  void barrier() override {
    if (!token_.defined()) token_ = backend_.allocate(DType::F32, {1});
    CASCADE_NCCL_CHECK(
        ncclAllReduce(token_.data, token_.data, 1, ncclFloat32, ncclSum, comm_, stream_));
    CASCADE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  ncclComm_t comm_;
  CudaBackend& backend_;
  cudaStream_t stream_;
  int rank_, world_;
  Tensor gathered_;  // all_gather scratch, grown as needed
  Tensor token_;     // one float for barrier()
};

class NcclGroup final : public CommunicatorGroup {
 public:
  explicit NcclGroup(int world) : world_(world) { CASCADE_NCCL_CHECK(ncclGetUniqueId(&id_)); }

  std::unique_ptr<Communicator> join(int rank, Backend& backend) override {
    auto* cuda = dynamic_cast<CudaBackend*>(&backend);
    check(cuda != nullptr, [&] {
      return "NCCL group: rank " + std::to_string(rank) + " joined with backend '" +
             backend.name() + "', not 'cuda'";
    });
    ncclComm_t comm = nullptr;
    CASCADE_NCCL_CHECK(ncclCommInitRank(&comm, world_, id_, rank));
    return std::make_unique<NcclCommunicator>(comm, *cuda, rank, world_);
  }

 private:
  ncclUniqueId id_{};
  int world_;
};

}  // namespace

std::unique_ptr<CommunicatorGroup> make_nccl_group(int world_size) {
  check(world_size > 0, "NCCL group: world size must be > 0");
  return std::make_unique<NcclGroup>(world_size);
}

}  // namespace cascade

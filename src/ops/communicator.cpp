#include "ops/communicator.h"

#include "base/error.h"
#include "ops/in_process_communicator.h"
#ifdef CASCADE_HAVE_NCCL
#include "ops/cuda/nccl_communicator.h"
#endif

namespace cascade {
namespace {

class SingleRankCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(Tensor& /*t*/) override {}
  void all_gather_columns(const Tensor& local, Tensor& out) override {
    check(out.data == local.data && out.shape == local.shape,
          "all_gather_columns: with one rank, out must be local itself");
  }
  void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> make_single_rank_communicator() {
  return std::make_unique<SingleRankCommunicator>();
}

std::unique_ptr<CommunicatorGroup> make_communicator_group(const std::string& backend_name,
                                                           int world_size) {
  if (backend_name == "cpu") return make_in_process_group(world_size);
  check(backend_name == "cuda", "tensor_parallel_size " + std::to_string(world_size) +
                                    ": no collectives for backend '" + backend_name + "'");
#ifdef CASCADE_HAVE_NCCL
  return make_nccl_group(world_size);
#else
  throw Error("tensor_parallel_size " + std::to_string(world_size) +
              " on CUDA needs NCCL, and this build of cascade was made without it");
#endif
}

}  // namespace cascade

#include "ops/in_process_communicator.h"

#include <barrier>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"

namespace cascade {
namespace {

// What the ranks share: a barrier and, per rank, the buffer it posted for the collective
// in progress.
struct Rendezvous {
  explicit Rendezvous(int world) : sync(world), posted(static_cast<size_t>(world)) {}
  std::barrier<> sync;
  std::vector<Tensor> posted;
};

float element(const Tensor& t, int64_t i) {
  return t.dtype == DType::BF16 ? bf16_to_f32(t.as<const uint16_t>()[i]) : t.as<const float>()[i];
}

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<Rendezvous> shared, int rank, int world)
      : shared_(std::move(shared)), rank_(rank), world_(world) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  void all_reduce_sum(Tensor& t) override {
    check(t.dtype == DType::F32 || t.dtype == DType::BF16,
          "all_reduce_sum: tensor must be f32 or bf16, got " + std::string(dtype_name(t.dtype)));
    const std::vector<Tensor>& all = post(t);
    std::vector<float> sum(static_cast<size_t>(t.numel()), 0.0f);
    for (const Tensor& part : all) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += element(part, static_cast<int64_t>(i));
    }
    shared_->sync.arrive_and_wait();  // every rank has read every buffer
    for (size_t i = 0; i < sum.size(); ++i) {
      if (t.dtype == DType::F32) {
        t.as<float>()[i] = sum[i];
      } else {
        t.as<uint16_t>()[i] = f32_to_bf16(sum[i]);
      }
    }
  }

  void all_gather_columns(const Tensor& local, Tensor& out) override {
    check_all_gather_args(local, out, world_);
    const std::vector<Tensor>& all = post(local);
    const int64_t rows = local.dim(0), n = local.dim(1);
    for (int r = 0; r < world_; ++r) {
      const float* src = all[static_cast<size_t>(r)].as<const float>();
      for (int64_t i = 0; i < rows; ++i) {
        std::memcpy(out.as<float>() + i * n * world_ + r * n, src + i * n,
                    static_cast<size_t>(n) * sizeof(float));
      }
    }
    shared_->sync.arrive_and_wait();  // nobody reuses `local` while another rank reads it
  }

  void barrier() override { shared_->sync.arrive_and_wait(); }

 private:
  // Publishes this rank's tensor and returns every rank's, once all have posted. Ranks
  // must post tensors of one shape and dtype; a mismatch fails on every rank alike.
  const std::vector<Tensor>& post(const Tensor& t) {
    shared_->posted[static_cast<size_t>(rank_)] = t;
    shared_->sync.arrive_and_wait();
    for (const Tensor& other : shared_->posted) {
      check(other.shape == t.shape && other.dtype == t.dtype,
            "in-process collective: ranks posted different tensors (" +
                shape_string(other.shape) + " and " + shape_string(t.shape) + ")");
    }
    return shared_->posted;
  }

  std::shared_ptr<Rendezvous> shared_;
  int rank_, world_;
};

class InProcessGroup final : public CommunicatorGroup {
 public:
  explicit InProcessGroup(int world) : shared_(std::make_shared<Rendezvous>(world)), world_(world) {}

  std::unique_ptr<Communicator> join(int rank, Backend& /*backend*/) override {
    check(0 <= rank && rank < world_, "in-process group: rank " + std::to_string(rank) +
                                          " outside a group of " + std::to_string(world_));
    return std::make_unique<InProcessCommunicator>(shared_, rank, world_);
  }

 private:
  std::shared_ptr<Rendezvous> shared_;
  int world_;
};

}  // namespace

std::unique_ptr<CommunicatorGroup> make_in_process_group(int world_size) {
  check(world_size > 0, "in-process group: world size must be > 0");
  return std::make_unique<InProcessGroup>(world_size);
}

}  // namespace cascade

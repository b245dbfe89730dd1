// Collectives between the ranks of a tensor-parallel group, one rank per device (or, in
// tests, per thread on the CPU). Every rank calls the same collectives in the same order
// on tensors of the same shape; each call returns when its result is in place. Tensors
// are on the rank's own backend, in that backend's memory and queue.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "base/tensor.h"
#include "ops/backend.h"

namespace cascade {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // t (any shape, f32 or bf16) = the sum of every rank's t; every rank gets the same values.
  virtual void all_reduce_sum(Tensor& t) = 0;
  // local: [rows, n] f32 on every rank; out: [rows, world_size·n] f32, rank r's columns at
  // [r·n, (r+1)·n). Used to gather vocabulary-parallel logits.
  virtual void all_gather_columns(const Tensor& local, Tensor& out) = 0;
  // Returns when every rank has called it.
  virtual void barrier() = 0;
};

// Error unless local is f32 [rows, n] and out f32 [rows, world_size·n]. Inline: the CUDA
// library, which does not link this layer's, uses it too.
inline void check_all_gather_args(const Tensor& local, const Tensor& out, int world_size) {
  check(local.dtype == DType::F32 && out.dtype == DType::F32 && local.rank() == 2 &&
            out.rank() == 2 && out.dim(0) == local.dim(0) &&
            out.dim(1) == local.dim(1) * world_size,
        "all_gather_columns: local " + shape_string(local.shape) + " and out " +
            shape_string(out.shape) + " must be f32 [rows, n] and [rows, world_size·n]");
}

// The group of one rank: every collective is the identity.
std::unique_ptr<Communicator> make_single_rank_communicator();

// Creates the communicators of a group of `world_size` ranks that live in one process, one
// thread per rank: join(rank, backend) is called once per rank, from that rank's thread and
// with the backend it computes on; for NCCL the calls block until every rank has joined.
class CommunicatorGroup {
 public:
  virtual ~CommunicatorGroup() = default;
  virtual std::unique_ptr<Communicator> join(int rank, Backend& backend) = 0;
};

// The group for backends named `backend_name` ("cpu": in-process, "cuda": NCCL). Error
// naming tensor_parallel_size when this build cannot run such a group.
std::unique_ptr<CommunicatorGroup> make_communicator_group(const std::string& backend_name,
                                                           int world_size);

}  // namespace cascade

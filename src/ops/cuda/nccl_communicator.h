// NCCL collectives between the GPUs of one process, one rank per GPU and thread. Built
// only when the CUDA toolkit has NCCL (CMakeLists.txt: CASCADE_HAVE_NCCL).
#pragma once

#include <memory>

#include "ops/communicator.h"

namespace cascade {

// join(rank, backend): `backend` must be a CudaBackend made on the calling thread (its GPU
// is the thread's current device); collectives run on the backend's stream, in order with
// its other work. join blocks until every rank has joined.
std::unique_ptr<CommunicatorGroup> make_nccl_group(int world_size);

}  // namespace cascade

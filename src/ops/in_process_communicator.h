// Collectives between ranks that are threads of one process over host memory (the CPU
// backend). For testing the tensor-parallel sharding, not for speed: every rank reads
// every other rank's buffer. Sums run in rank order 0, 1, ... so that every rank gets
// the same, reproducible values.
#pragma once

#include <memory>

#include "ops/communicator.h"

namespace cascade {

// A group of `world_size` ranks; join(rank, backend) once per rank (backend unused: the
// tensors must be host memory).
std::unique_ptr<CommunicatorGroup> make_in_process_group(int world_size);

}  // namespace cascade

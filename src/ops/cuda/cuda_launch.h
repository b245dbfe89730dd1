// Whether our kernels launch with Hopper's programmatic dependent launch (PDL): see
// cuda_launch.cuh. Host-only (no CUDA headers), so the backend and tests can switch it.
#pragma once

namespace cascade::cuda {

// Reads CASCADE_PDL (when a CUDA backend is created): 0 or 1; anything else, or 1 on a
// GPU older than compute capability 9.0, is an Error naming the variable. Unset: on where
// the GPU has compute capability 9.0 or later, else off.
void configure_programmatic_launch();
// Whether the next launch on this thread takes PDL: on, and its step allows it.
bool programmatic_launch_enabled();
// Whether PDL is on (set_programmatic_launch), whatever the step.
bool programmatic_launch_on();
// On (an Error where unsupported) or off.
void set_programmatic_launch(bool on);
// Whether the launches of the step this thread enqueues next take PDL when it is on
// (step_takes_programmatic_launch in cuda_kernels.h). Per thread: tensor-parallel ranks
// launch from threads of their own.
void allow_programmatic_launch_in_step(bool allowed);

}  // namespace cascade::cuda

// Whether our kernels launch with Hopper's programmatic dependent launch (PDL): see
// cuda_launch.cuh. Host-only (no CUDA headers), so the backend and tests can switch it.
#pragma once

namespace cascade::cuda {

// Reads CASCADE_PDL (when a CUDA backend is created): 0 or 1; anything else, or 1 on a
// GPU older than compute capability 9.0, is an Error naming the variable. Unset: as is.
void configure_programmatic_launch();
bool programmatic_launch_enabled();
// On (an Error where unsupported) or off.
void set_programmatic_launch(bool on);

}  // namespace cascade::cuda

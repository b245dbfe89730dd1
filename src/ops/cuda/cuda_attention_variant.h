// Which kernel runs attention's large tiles on the GPU. Host-only (no CUDA headers), so
// tests can switch it.
#pragma once

namespace cascade::cuda {

// EXPERIMENTAL, not yet checked on a GPU: the wgmma kernel (cuda_attention_wgmma.cu) in
// place of the mma.sync one, when enabled by set_attention_wgmma or by
// CASCADE_ATTENTION_KERNEL=wgmma in the environment when a CUDA backend is created (mma
// or wgmma; anything else, or wgmma where it is not available, is an Error). available():
// built for sm_90a and run on a GPU of compute capability 9.0.
bool attention_wgmma_available();
bool attention_wgmma_enabled();
// Throws an Error when asked for a kernel the build lacks.
void set_attention_wgmma(bool on);

}  // namespace cascade::cuda

// RMSNorm of one row, shared by rms_norm and the per-head q/k norm of qkv_store.
#pragma once

#include <cstdint>

namespace cascade {

// out = x / sqrt(mean(x²) + eps) * weight. x, out: [n] f32 (may alias); weight: [n] f32.
void rms_norm_row(const float* x, const float* weight, int64_t n, float eps, float* out);

}  // namespace cascade

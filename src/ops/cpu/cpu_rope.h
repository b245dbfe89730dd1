// Qwen RoPE (rotate-half) on the CPU, with Hugging Face transformers' numerics: inv_freq
// and the angle position·inv_freq are float32, as in its rotary embedding, so our logits
// match its fp32 reference; cos and sin of that float angle are then rounded from double.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/backend.h"

namespace cascade {

class RopeTable {
 public:
  explicit RopeTable(const RopeParams& rope);
  int half() const { return static_cast<int>(inv_freq_.size()); }
  // cos, sin: [head_dim / 2] for the angles at `position`.
  void cos_sin(int64_t position, float* cos, float* sin) const;

 private:
  std::vector<float> inv_freq_;  // [head_dim / 2]
};

// Rotates one head vector x: [2 · half] in place by the angles' cos, sin: [half].
void rope_rotate(float* x, const float* cos, const float* sin, int half);

}  // namespace cascade

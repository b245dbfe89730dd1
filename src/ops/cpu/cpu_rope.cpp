#include "ops/cpu/cpu_rope.h"

#include <cmath>

#include "base/error.h"

namespace cascade {

RopeTable::RopeTable(const RopeParams& rope) {
  check(rope.head_dim > 0 && rope.head_dim % 2 == 0, [&] {
    return "rope: head_dim must be positive and even, got " + std::to_string(rope.head_dim);
  });
  check(rope.theta > 0, "rope: theta must be positive");
  const int half = rope.head_dim / 2;
  inv_freq_.resize(static_cast<size_t>(half));
  const auto theta = static_cast<float>(rope.theta);
  const auto dim = static_cast<float>(rope.head_dim);
  for (int i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / dim;
    inv_freq_[static_cast<size_t>(i)] = 1.0f / std::pow(theta, exponent);
  }
}

void RopeTable::cos_sin(int64_t position, float* cos, float* sin) const {
  const auto p = static_cast<float>(position);
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double angle = static_cast<double>(p * inv_freq_[i]);
    cos[i] = static_cast<float>(std::cos(angle));
    sin[i] = static_cast<float>(std::sin(angle));
  }
}

void rope_rotate(float* x, const float* cos, const float* sin, int half) {
  for (int i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace cascade

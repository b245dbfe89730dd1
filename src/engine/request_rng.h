// Per-request random numbers from a counter-based generator: draw k of a request is a pure
// function of (seed, k), so its tokens never depend on which requests share its batch, on the
// thread that samples it, or on the order in which rows are sampled.
#pragma once

#include <cstdint>

namespace cascade {

// 64-bit finaliser of the SplitMix64 family (xor-shift, multiply by an odd constant, twice):
// a bijection in which each input bit flips about half of the output bits.
constexpr uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class RequestRng {
 public:
  // The seed is mixed first so that nearby seeds (0, 1, 2 from the engine's counter) start
  // unrelated streams rather than shifted copies of one stream.
  explicit RequestRng(uint64_t seed) : key_(mix64(seed)) {}

  // Draw k (k = 1, 2, ...) is mix64(key + k·gamma): SplitMix64's sequence, addressed by k.
  uint64_t next_u64() { return mix64(key_ + ++draws_ * kGamma); }

  // Uniform in [0, 1) with the 53 high bits of one draw.
  double next_uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // Number of draws made so far (one per sampled token; greedy tokens draw none).
  uint64_t draws() const { return draws_; }

 private:
  static constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, odd
  uint64_t key_;
  uint64_t draws_ = 0;
};

}  // namespace cascade

// Python's `random` module for integer seeds and randint, bit for bit (MT19937 seeded by
// init_by_array, randint by rejection on getrandbits), so that B1 draws exactly the
// workload of nano-vllm's bench.py (seed(0); 256 prompts and output lengths) and its
// checksum (133,966 output tokens) can be compared with nano-vllm's published runs.
#pragma once

#include <array>
#include <cstdint>

namespace cascade {

class PythonRandom {
 public:
  explicit PythonRandom(uint32_t seed);  // random.seed(seed) for 0 <= seed < 2^32
  uint32_t next_u32();                   // genrand_uint32
  int randint(int lo, int hi);           // random.randint(lo, hi): lo..hi inclusive

 private:
  static constexpr int kN = 624;
  std::array<uint32_t, kN> mt_{};
  int index_ = kN + 1;
  void init_genrand(uint32_t seed);
  void refill();
};

}  // namespace cascade

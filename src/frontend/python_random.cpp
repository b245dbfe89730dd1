#include "frontend/python_random.h"

#include <bit>

#include "base/error.h"

namespace cascade {
namespace {

constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfu;
constexpr uint32_t kUpperMask = 0x80000000u;
constexpr uint32_t kLowerMask = 0x7fffffffu;

}  // namespace

void PythonRandom::init_genrand(uint32_t seed) {
  mt_[0] = seed;
  for (int i = 1; i < kN; ++i) {
    mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  }
  index_ = kN;
}

// CPython's random_seed: the key is the seed's 32-bit words (one word for seeds < 2^32).
PythonRandom::PythonRandom(uint32_t seed) {
  init_genrand(19650218u);
  const uint32_t key = seed;
  int i = 1;
  for (int k = kN; k > 0; --k) {  // max(N, key length) rounds, one key word
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key;
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] =
        (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    if (++i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000u;
  index_ = kN;
}

void PythonRandom::refill() {
  for (int k = 0; k < kN; ++k) {
    const uint32_t y = (mt_[k] & kUpperMask) | (mt_[(k + 1) % kN] & kLowerMask);
    mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrixA : 0u);
  }
  index_ = 0;
}

uint32_t PythonRandom::next_u32() {
  if (index_ >= kN) refill();
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

int PythonRandom::randint(int lo, int hi) {
  check(lo <= hi, "randint: empty range");
  const auto n = static_cast<uint32_t>(hi - lo) + 1u;
  // _randbelow_with_getrandbits: k = n.bit_length() bits, redrawn while >= n.
  const int k = std::bit_width(n);
  uint32_t r;
  do {
    r = next_u32() >> (32 - k);
  } while (r >= n);
  return lo + static_cast<int>(r);
}

}  // namespace cascade

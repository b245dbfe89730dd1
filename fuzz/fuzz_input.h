// Shared by the fuzz targets: the input as text, and the rule that cascade::Error is the
// one expected outcome of bad input (anything else escaping a target is a finding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"

namespace cascade::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `body`; a cascade::Error is a correct rejection, other exceptions propagate and
// abort the run so libFuzzer keeps the input.
template <typename Body>
void expect_only_errors(Body&& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

// Aborts (a finding) when an invariant the target checks does not hold.
inline void require(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace cascade::fuzz

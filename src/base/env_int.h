// Integer switches read from the environment (experiments and tuning knobs).
#pragma once

namespace cascade {

// The integer in environment variable `name`, or `fallback` when it is unset or empty; a
// value that is not an integer in [lo, hi] is an Error naming the variable and the range.
int env_int(const char* name, int fallback, int lo, int hi);

}  // namespace cascade

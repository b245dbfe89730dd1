#include "cascade/sampling_params.h"

#include <charconv>
#include <cmath>

#include "base/error.h"

namespace cascade {
namespace {

// Shortest round-trip text of a value ("-0.5", "nan", "inf"), for messages.
template <typename T>
std::string shown(T value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof(text), value).ptr;
  return std::string(text, end);
}

}  // namespace

void SamplingParams::validate() const {
  // Written as !(ok) so that NaN, which fails every comparison, is rejected too.
  check(!(temperature < 0) && !std::isnan(temperature),
        "temperature must be >= 0 (got " + shown(temperature) + ")");
  check(std::isfinite(temperature), "temperature must be finite (got " + shown(temperature) + ")");
  check(top_p > 0 && top_p <= 1, "top_p must be in (0, 1] (got " + shown(top_p) + ")");
  check(top_k >= 0, "top_k must be >= 0 (got " + shown(top_k) + ")");
  check(max_tokens >= 1, "max_tokens must be >= 1 (got " + shown(max_tokens) + ")");
  for (size_t i = 0; i < stop_token_ids.size(); ++i) {
    check(stop_token_ids[i] >= 0,
          "stop_token_ids[" + shown(i) + "] must be >= 0 (got " + shown(stop_token_ids[i]) + ")");
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    check(!stop[i].empty(), "stop[" + shown(i) + "] must not be an empty string");
  }
}

}  // namespace cascade

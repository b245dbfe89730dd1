#include "base/env_int.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/error.h"

namespace cascade {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* env = std::getenv(name);
  if (env == nullptr || *env == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(env, &end, 10);
  check(errno == 0 && *end == '\0' && value >= lo && value <= hi, [&] {
    return std::string(name) + ": expected a number from " + std::to_string(lo) + " to " +
           std::to_string(hi) + ", got '" + env + "'";
  });
  return static_cast<int>(value);
}

}  // namespace cascade

// Errors a user can act on. Thrown where bad input enters (a file, a flag, a request)
// with a one-line message naming the file, field or parameter; caught at the frontends.
#pragma once

#include <stdexcept>
#include <string>

namespace cascade {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error(message) when `condition` is false.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace cascade

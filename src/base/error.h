// Errors a user can act on. Thrown where bad input enters (a file, a flag, a request)
// with a one-line message naming the file, field or parameter; caught at the frontends.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>

namespace cascade {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error(message) when `condition` is false.
inline void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

// The same for per-op and per-token paths: the message is built only when the check
// fails (building it every time cost microseconds per kernel launch).
// (SFINAE rather than `requires`: CUDA sources include this as C++17.)
template <class MakeMessage,
          std::enable_if_t<std::is_invocable_r_v<std::string, MakeMessage>, int> = 0>
inline void check(bool condition, MakeMessage&& make_message) {
  if (!condition) throw Error(make_message());
}

}  // namespace cascade

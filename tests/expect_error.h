// expect_error: the call throws cascade::Error and its message contains every given part.
// validation_error: what validate() says of a default-constructed value after an edit.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"

namespace cascade::test {

inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& e) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << part;
    }
  }
}

// The message Config{}.validate() throws once `edit` has changed it, or "" when it accepts it.
template <typename Config>
std::string validation_error(const std::function<void(Config&)>& edit) {
  Config config;
  edit(config);
  try {
    config.validate();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace cascade::test

// nlohmann::json's messages start with "[json.exception.parse_error.101] "; users need
// only the rest, after the file name we put in front.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cascade {

inline std::string json_error_text(const nlohmann::json::exception& e) {
  const std::string text = e.what();
  const size_t end = text.find("] ");
  return end == std::string::npos ? text : text.substr(end + 2);
}

}  // namespace cascade

#include "frontend/server/api_error.h"

#include <nlohmann/json.hpp>

namespace cascade {

std::string error_body(const ApiError& error) {
  const auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json() : nlohmann::json(s);
  };
  const nlohmann::json body = {{"error",
                                {{"message", error.what()},
                                 {"type", error.type},
                                 {"param", or_null(error.param)},
                                 {"code", or_null(error.code)}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cascade

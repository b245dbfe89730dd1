// Errors returned to HTTP clients in OpenAI's shape:
//   HTTP 4xx/5xx with {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
#pragma once

#include <stdexcept>
#include <string>

namespace cascade {

struct ApiError : std::runtime_error {
  int status;
  std::string type;   // invalid_request_error, not_found_error, rate_limit_error, server_error
  std::string param;  // the request field at fault; empty = null
  std::string code;   // machine-readable reason; empty = null

  ApiError(int status_, std::string message, std::string type_, std::string param_ = {},
           std::string code_ = {})
      : std::runtime_error(std::move(message)),
        status(status_),
        type(std::move(type_)),
        param(std::move(param_)),
        code(std::move(code_)) {}
};

// 400 invalid_request_error naming `param`.
inline ApiError bad_request(std::string message, std::string param = {},
                            std::string code = "invalid_value") {
  return ApiError(400, std::move(message), "invalid_request_error", std::move(param),
                  std::move(code));
}

// The JSON body for `error`.
std::string error_body(const ApiError& error);

}  // namespace cascade

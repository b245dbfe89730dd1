// Writing responses: JSON bodies, OpenAI-style errors, and the guard that turns any
// exception a route throws into one (ApiError as it is, cascade::Error as a 400, anything
// else as a 500).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace cascade {

struct ApiError;
struct ServerContext;

using Route = std::function<void(const httplib::Request&, httplib::Response&)>;

void reply_json(httplib::Response& res, int status, const nlohmann::json& body);
void reply_error(ServerContext& ctx, httplib::Response& res, const ApiError& error);
Route guarded(ServerContext& ctx, Route route);

}  // namespace cascade

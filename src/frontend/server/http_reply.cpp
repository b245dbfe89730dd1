#include "frontend/server/http_reply.h"

#include <httplib.h>

#include <cstdio>

#include "base/error.h"
#include "frontend/server/api_error.h"
#include "frontend/server/server_context.h"

namespace cascade {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void reply_error(ServerContext& ctx, httplib::Response& res, const ApiError& error) {
  (error.status >= 500 ? ctx.counters.server_errors : ctx.counters.client_errors)++;
  res.status = error.status;
  res.set_content(error_body(error), "application/json");
}

Route guarded(ServerContext& ctx, Route route) {
  return [&ctx, route = std::move(route)](const httplib::Request& req, httplib::Response& res) {
    try {
      route(req, res);
    } catch (const ApiError& e) {
      reply_error(ctx, res, e);
    } catch (const Error& e) {
      reply_error(ctx, res, bad_request(e.what(), {}, {}));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cascade serve: %s %s: %s\n", req.method.c_str(), req.path.c_str(),
                   e.what());
      reply_error(ctx, res, ApiError(500, e.what(), "server_error"));
    }
  };
}

}  // namespace cascade

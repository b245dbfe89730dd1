#include <httplib.h>

#include <chrono>

#include "frontend/server/api_error.h"
#include "frontend/server/http_reply.h"
#include "frontend/server/routes.h"
#include "frontend/server/server_context.h"

namespace cascade {
namespace {

nlohmann::json model_json(const ServedModel& model, int64_t created) {
  return {{"id", model.name},
          {"object", "model"},
          {"created", created},
          {"owned_by", "cascade"},
          {"max_model_len", model.max_model_len}};
}

}  // namespace

void add_info_routes(httplib::Server& http, ServerContext& ctx) {
  const int64_t started = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  http.Get("/health", guarded(ctx, [](const auto&, auto& res) {
             reply_json(res, 200, {{"status", "ok"}});
           }));
  http.Get("/v1/models", guarded(ctx, [&ctx, started](const auto&, auto& res) {
             reply_json(res, 200,
                        {{"object", "list"},
                         {"data", nlohmann::json::array({model_json(ctx.model, started)})}});
           }));
  http.Get(R"(/v1/models/(.+))", guarded(ctx, [&ctx, started](const auto& req, auto& res) {
             const std::string id = req.matches[1].str();
             if (id != ctx.model.name) {
               throw ApiError(404, "The model '" + id + "' does not exist", "invalid_request_error",
                              "model", "model_not_found");
             }
             reply_json(res, 200, model_json(ctx.model, started));
           }));
  http.Get("/metrics", guarded(ctx, [&ctx](const auto&, auto& res) {
             const std::string text = prometheus_text(ctx.loop.stats(), ctx.loop.throughput(),
                                                      ctx.loop.num_running(), ctx.counters);
             res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
           }));
}

}  // namespace cascade

#include "frontend/server/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/error.h"
#include "frontend/server/api_error.h"
#include "frontend/server/http_reply.h"
#include "frontend/server/routes.h"

namespace cascade {
namespace {

// httplib answers some requests itself (no route, body too large, bad HTTP) with an
// empty body; give those the OpenAI error shape too.
ApiError status_error(const httplib::Request& req, int status, size_t max_body_bytes) {
  switch (status) {
    case 404:
      return ApiError(404, "no route for " + req.method + " " + req.path, "not_found_error", {},
                      "unknown_route");
    case 413:
      return ApiError(413,
                      "request body is larger than the server's limit of " +
                          std::to_string(max_body_bytes) + " bytes",
                      "invalid_request_error", {}, "request_too_large");
    default:
      return ApiError(
          status, "HTTP status " + std::to_string(status) + " for " + req.method + " " + req.path,
          status >= 500 ? "server_error" : "invalid_request_error");
  }
}

}  // namespace

HttpServer::HttpServer(EngineLoop& loop, ServedModel model, ServerOptions options)
    : ctx_{loop, std::move(model), std::move(options), {}, {}},
      http_(std::make_unique<httplib::Server>()) {
  check(ctx_.options.max_concurrent_requests >= 1, "--max-concurrent-requests must be >= 1");
  check(ctx_.options.max_body_bytes >= 1, "--max-body-bytes must be >= 1");
  // Every request in flight holds a thread while it streams; spare threads keep answering
  // /health, /metrics and the 429s for requests over the limit.
  const size_t threads = static_cast<size_t>(ctx_.options.max_concurrent_requests) + 8;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(ctx_.options.max_body_bytes);
  http_->set_keep_alive_timeout(2);
  http_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    reply_error(ctx_, res, status_error(req, res.status, ctx_.options.max_body_bytes));
  });
  if (ctx_.options.log_requests) {
    http_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "cascade serve: %s %s %d\n", req.method.c_str(), req.path.c_str(),
                   res.status);
    });
  }
  add_info_routes(*http_, ctx_);
  add_generation_routes(*http_, ctx_);
  add_chunk_routes(*http_, ctx_);
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  const std::string& host = ctx_.options.host;
  const int port = ctx_.options.port;
  const bool bound = port == 0 ? (ctx_.options.port = http_->bind_to_any_port(host)) > 0
                               : http_->bind_to_port(host, port);
  check(bound, "cannot listen on " + host + ":" + std::to_string(port) +
                   " (address in use, or not an address of this machine)");
  return ctx_.options.port;
}

void HttpServer::serve() {
  http_->listen_after_bind();
}

void HttpServer::stop() {
  ctx_.stopping = true;
  ctx_.loop.abort_all("the server is shutting down");
  // httplib stops calling a stream's content provider once stopped: let the streams
  // write their last event first.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ctx_.in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http_->stop();
}

}  // namespace cascade

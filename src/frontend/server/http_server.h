// The OpenAI-compatible HTTP server (docs/SERVER.md): cpp-httplib's thread pool answers
// connections, the routes parse and check requests, the one EngineLoop runs them.
#pragma once

#include <memory>

#include "frontend/server/server_context.h"

namespace httplib {
class Server;
}

namespace cascade {

class HttpServer {
 public:
  HttpServer(EngineLoop& loop, ServedModel model, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds options.host:options.port; returns the port (the one chosen when port is 0).
  // Throws Error when the address cannot be bound.
  int bind();
  // Answers requests until stop() (from any thread).
  void serve();
  // Refuses new generation requests, ends the running ones (a stream gets a last error
  // event), then closes the listening socket so that serve() returns.
  void stop();

 private:
  ServerContext ctx_;
  std::unique_ptr<httplib::Server> http_;
};

}  // namespace cascade

// What every route of the server shares: the engine loop, the served model, the limits
// and the counters.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "frontend/server/engine_loop.h"
#include "frontend/server/generation_request.h"
#include "frontend/server/metrics.h"

namespace cascade {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                   // 0: any free port
  size_t max_body_bytes = 4 << 20;   // larger request bodies get 413
  int max_concurrent_requests = 64;  // generation requests in flight; more get 429
  bool log_requests = false;         // one line per request on standard error
};

struct ServerContext {
  EngineLoop& loop;
  ServedModel model;
  ServerOptions options;
  ServerCounters counters;
  std::atomic<int> in_flight{0};      // generation requests holding a slot
  std::atomic<bool> stopping{false};  // new generation requests get 503
};

}  // namespace cascade

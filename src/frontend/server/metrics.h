// GET /metrics: the engine's counters and the server's, in Prometheus' text format
// (version 0.0.4): "# HELP", "# TYPE" and one "name value" line per metric.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "cascade/llm.h"
#include "frontend/server/engine_loop.h"

namespace cascade {

// What the HTTP layer counts (the engine counts the rest, EngineStats).
struct ServerCounters {
  std::atomic<int64_t> requests{0};         // generation requests accepted by the engine
  std::atomic<int64_t> finished_stop{0};    // ... that ended at EOS or a stop string
  std::atomic<int64_t> finished_length{0};  // ... that ran out of max_tokens / the context
  std::atomic<int64_t> aborted{0};          // ... whose client left before the end
  std::atomic<int64_t> client_errors{0};    // responses with a 4xx status
  std::atomic<int64_t> server_errors{0};    // responses with a 5xx status
  std::atomic<int64_t> prompt_tokens{0};    // of finished requests
  std::atomic<int64_t> completion_tokens{0};
};

std::string prometheus_text(const EngineStats& engine, const Throughput& rates, int running,
                            const ServerCounters& server);

}  // namespace cascade

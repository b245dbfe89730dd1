// A generation request in the engine, seen from the HTTP thread that serves it. It holds
// one of the server's concurrency slots; destroying it before the request finished (the
// client disconnected mid-stream) aborts the request, so its sequence and KV pages go back
// to the pool at the next turn of the engine loop.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "frontend/server/engine_loop.h"
#include "frontend/server/generation_request.h"

namespace cascade {

struct ServerContext;

class RunningRequest {
 public:
  // Takes a concurrency slot (429 when none is left) and queues the request in the engine
  // (400 when the engine rejects the prompt, e.g. longer than max_model_len).
  RunningRequest(ServerContext& ctx, const GenerationRequest& request);
  ~RunningRequest();
  RunningRequest(const RunningRequest&) = delete;
  RunningRequest& operator=(const RunningRequest&) = delete;

  // The outputs that arrived within `timeout` (maybe none). Throws ApiError (500) when
  // the engine failed.
  std::vector<RequestOutput> next(std::chrono::milliseconds timeout);
  // Waits for the end and returns the final output (non-streaming responses).
  RequestOutput wait();
  bool finished() const { return finished_; }

 private:
  void count_finish(const RequestOutput& output);

  ServerContext& ctx_;
  EngineLoop::Submitted submitted_;
  bool finished_ = false;
};

}  // namespace cascade

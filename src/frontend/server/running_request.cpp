#include "frontend/server/running_request.h"

#include "base/error.h"
#include "frontend/server/api_error.h"
#include "frontend/server/server_context.h"

namespace cascade {
namespace {

void take_slot(ServerContext& ctx) {
  if (ctx.stopping) {
    throw ApiError(503, "the server is shutting down", "server_error", {}, "shutting_down");
  }
  const int limit = ctx.options.max_concurrent_requests;
  if (ctx.in_flight.fetch_add(1) >= limit) {
    ctx.in_flight.fetch_sub(1);
    throw ApiError(429,
                   "too many requests in flight (the server takes " + std::to_string(limit) +
                       " at once); retry later",
                   "rate_limit_error", {}, "too_many_requests");
  }
}

}  // namespace

RunningRequest::RunningRequest(ServerContext& ctx, const GenerationRequest& request) : ctx_(ctx) {
  take_slot(ctx);
  try {
    submitted_ = ctx.loop.submit(request.prompt, request.params);
  } catch (const Error& e) {
    ctx.in_flight.fetch_sub(1);
    throw bad_request(e.what(), {}, "invalid_prompt");
  } catch (...) {
    ctx.in_flight.fetch_sub(1);
    throw;
  }
  ctx.counters.requests++;
}

RunningRequest::~RunningRequest() {
  if (!finished_) {
    ctx_.loop.abort(submitted_.request_id);
    ctx_.counters.aborted++;
  }
  ctx_.in_flight.fetch_sub(1);
}

std::vector<RequestOutput> RunningRequest::next(std::chrono::milliseconds timeout) {
  std::vector<RequestOutput> outputs = submitted_.stream->pop(timeout);
  if (!outputs.empty() && outputs.back().finished()) {
    finished_ = true;
    count_finish(outputs.back());
  } else if (outputs.empty() && submitted_.stream->closed()) {
    finished_ = true;  // the engine failed; nothing is left to abort
    throw ApiError(500, submitted_.stream->error(), "server_error");
  }
  return outputs;
}

RequestOutput RunningRequest::wait() {
  RequestOutput last;
  while (!finished_) {
    for (auto& output : next(std::chrono::milliseconds(500))) last = std::move(output);
  }
  return last;
}

void RunningRequest::count_finish(const RequestOutput& output) {
  (output.finish_reason == FinishReason::Length ? ctx_.counters.finished_length
                                                : ctx_.counters.finished_stop)++;
  ctx_.counters.prompt_tokens += output.num_prompt_tokens;
  ctx_.counters.completion_tokens += static_cast<int64_t>(output.token_ids.size());
}

}  // namespace cascade

#include <httplib.h>

#include <memory>

#include "frontend/server/api_error.h"
#include "frontend/server/http_reply.h"
#include "frontend/server/openai_response.h"
#include "frontend/server/routes.h"
#include "frontend/server/running_request.h"
#include "frontend/server/server_context.h"

namespace cascade {
namespace {

// How long the stream waits for the engine before letting httplib check the connection.
constexpr std::chrono::milliseconds kPollInterval{100};

// The state of one server-sent event stream; the content provider owns it, so it dies
// with the response, aborting the request if the client left early.
struct EventStream {
  ResponseInfo info;
  bool include_usage = false;
  std::unique_ptr<RunningRequest> request;
  bool opened = false;

  // Writes the events of whatever the engine produced; false when the client is gone.
  bool pump(httplib::DataSink& sink) {
    const auto send = [&sink](const std::string& event) {
      return sink.write(event.data(), event.size());
    };
    if (!opened) {
      opened = true;
      if (info.endpoint == Endpoint::Chat && !send(sse_event(role_chunk(info)))) return false;
    }
    std::vector<RequestOutput> outputs;
    try {
      outputs = request->next(kPollInterval);
    } catch (const ApiError& e) {
      send("data: " + error_body(e) + "\n\n");
      sink.done();
      return true;
    }
    for (const RequestOutput& output : outputs) {
      const nlohmann::json chunk = delta_chunk(info, output);
      if (!chunk.is_null() && !send(sse_event(chunk))) return false;
      if (!output.finished()) continue;
      if (include_usage && !send(sse_event(usage_chunk(info, output)))) return false;
      if (!send(kSseDone)) return false;
      sink.done();
      return true;
    }
    return sink.is_writable();
  }
};

void serve(ServerContext& ctx, Endpoint endpoint, const httplib::Request& req,
           httplib::Response& res) {
  const json body = parse_json_object(req.body);
  const GenerationRequest request = endpoint == Endpoint::Chat
                                        ? parse_chat_request(body, ctx.model)
                                        : parse_completion_request(body, ctx.model);
  auto running = std::make_unique<RunningRequest>(ctx, request);
  const ResponseInfo info = new_response_info(endpoint, ctx.model.name);
  if (!request.stream) {
    reply_json(res, 200, completion_json(info, running->wait()));
    return;
  }
  auto stream = std::make_shared<EventStream>(
      EventStream{info, request.include_usage, std::move(running), false});
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream](size_t /*offset*/, httplib::DataSink& sink) { return stream->pump(sink); });
}

}  // namespace

void add_generation_routes(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/completions", guarded(ctx, [&ctx](const auto& req, auto& res) {
              serve(ctx, Endpoint::Completion, req, res);
            }));
  http.Post("/v1/chat/completions", guarded(ctx, [&ctx](const auto& req, auto& res) {
              serve(ctx, Endpoint::Chat, req, res);
            }));
}

}  // namespace cascade

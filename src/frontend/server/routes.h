// The server's routes, by concern (docs/SERVER.md lists them all).
#pragma once

namespace httplib {
class Server;
}

namespace cascade {

struct ServerContext;

// POST /v1/completions, POST /v1/chat/completions (JSON or server-sent events).
void add_generation_routes(httplib::Server& http, ServerContext& ctx);
// POST /v1/chunks, GET /v1/chunks, DELETE /v1/chunks/{id}.
void add_chunk_routes(httplib::Server& http, ServerContext& ctx);
// GET /health, GET /v1/models, GET /v1/models/{id}, GET /metrics.
void add_info_routes(httplib::Server& http, ServerContext& ctx);

}  // namespace cascade

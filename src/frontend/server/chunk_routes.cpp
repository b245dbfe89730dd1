// Chunks registered ahead of use, so that requests can name them in `documents`:
//   POST   /v1/chunks        {"text": "...", "system": "..."} -> {"id": "<64 hex>", ...}
//   GET    /v1/chunks        registered chunks and the engine's statistics
//   DELETE /v1/chunks/{id}   forgets one (its cached KV becomes evictable)
#include <httplib.h>

#include "frontend/chat_prompt.h"
#include "frontend/document_chunk.h"
#include "frontend/server/api_error.h"
#include "frontend/server/http_reply.h"
#include "frontend/server/request_fields.h"
#include "frontend/server/routes.h"
#include "frontend/server/server_context.h"
#include "frontend/stats_json.h"

namespace cascade {
namespace {

json chunk_json(const ChunkInfo& info) {
  return {{"id", info.id},
          {"object", "chunk"},
          {"kind", chunk_kind_name(info.kind)},
          {"num_tokens", info.num_tokens},
          {"uses", info.uses}};
}

// Registers a document after the prefix chat requests with the same system message (or
// none) put before their documents, so that they reuse its KV.
void add_chunk(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_json_object(req.body);
  reject_unknown_fields(body, {"text", "system", "model"});
  if (auto model = string_field(body, "model"); model && *model != ctx.model.name) {
    throw ApiError(404, "The model '" + *model + "' does not exist", "invalid_request_error",
                   "model", "model_not_found");
  }
  const std::optional<std::string> text = string_field(body, "text");
  if (!text || text->empty()) {
    throw bad_request("'text' is required (the document)", "text", "missing_required_parameter");
  }
  const std::optional<std::string> system = string_field(body, "system");
  if (system && !ctx.model.chat) {
    throw bad_request("'system' needs a chat template; this model has none", "system");
  }
  std::vector<Chunk> prefix;
  if (ctx.model.chat) prefix.push_back(chat_documents_prefix(*ctx.model.chat, system));
  const Chunk chunk = document_chunk(*text);
  const ChunkInfo info = ctx.loop.call([&](LLM& llm) {
    const std::string id = llm.add_chunk(chunk, prefix, Prompt::Framing::Raw);
    for (const ChunkInfo& c : llm.list_chunks()) {
      if (c.id == id) return c;
    }
    return ChunkInfo{id, chunk.kind, 0, 0};
  });
  reply_json(res, 200, chunk_json(info));
}

void list_chunks(ServerContext& ctx, httplib::Response& res) {
  const auto [chunks, stats] =
      ctx.loop.call([](LLM& llm) { return std::make_pair(llm.list_chunks(), llm.stats()); });
  json data = json::array();
  for (const ChunkInfo& c : chunks) data.push_back(chunk_json(c));
  reply_json(res, 200, {{"object", "list"}, {"data", data}, {"stats", stats_json(stats)}});
}

void delete_chunk(ServerContext& ctx, const std::string& id, httplib::Response& res) {
  const bool released = ctx.loop.call([&id](LLM& llm) { return llm.release_chunk(id); });
  if (!released) {
    throw ApiError(404, "no chunk with id '" + id + "'", "invalid_request_error", "id",
                   "chunk_not_found");
  }
  reply_json(res, 200, {{"id", id}, {"object", "chunk"}, {"deleted", true}});
}

}  // namespace

void add_chunk_routes(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/chunks",
            guarded(ctx, [&ctx](const auto& req, auto& res) { add_chunk(ctx, req, res); }));
  http.Get("/v1/chunks", guarded(ctx, [&ctx](const auto&, auto& res) { list_chunks(ctx, res); }));
  http.Delete(R"(/v1/chunks/([^/]+))", guarded(ctx, [&ctx](const auto& req, auto& res) {
                delete_chunk(ctx, req.matches[1].str(), res);
              }));
}

}  // namespace cascade

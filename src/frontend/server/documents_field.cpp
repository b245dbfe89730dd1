#include "frontend/server/documents_field.h"

#include "frontend/document_chunk.h"
#include "frontend/server/api_error.h"

namespace cascade {
namespace {

bool is_chunk_id(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Chunk parse_document(const json& item, const std::string& where) {
  if (item.is_string()) {
    if (item.get_ref<const std::string&>().empty()) throw bad_request(where + " is empty", where);
    return document_chunk(item.get<std::string>());
  }
  if (!item.is_object()) {
    throw bad_request(where + " must be a string or an object with 'text' or 'id'", where);
  }
  reject_unknown_fields(item, {"text", "id"});
  const auto text = string_field(item, "text");
  const auto id = string_field(item, "id");
  if (text.has_value() == id.has_value()) {
    throw bad_request(where + " must have exactly one of 'text' and 'id'", where);
  }
  if (text) {
    if (text->empty()) throw bad_request(where + ".text is empty", where);
    return document_chunk(*text);
  }
  if (!is_chunk_id(*id)) {
    throw bad_request(where + ".id must be a chunk id (64 lowercase hex digits)", where);
  }
  return Chunk::ref(*id);
}

}  // namespace

std::vector<Chunk> parse_documents(const json& body) {
  const json* documents = find_field(body, "documents");
  if (!documents) return {};
  if (!documents->is_array()) throw bad_request("'documents' must be an array", "documents");
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < documents->size(); ++i) {
    chunks.push_back(parse_document((*documents)[i], "documents[" + std::to_string(i) + "]"));
  }
  return chunks;
}

}  // namespace cascade

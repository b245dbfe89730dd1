// Reading tokenizer.json fields with errors that name the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cascade::text {

using nlohmann::json;

// Where a value sits: the file and the field path (e.g. "model.merges[3]").
struct JsonPlace {
  std::string source;
  std::string path;

  JsonPlace operator/(std::string_view key) const;  // a member
  JsonPlace operator[](size_t index) const;         // an array element
  // Throws Error("<source>: field '<path>' <message>").
  [[noreturn]] void fail(const std::string& message) const;
};

// The member `key` of `object`, or nullptr when absent or JSON null.
const json* find_field(const json& object, std::string_view key);
const json& require_field(const json& object, std::string_view key, const JsonPlace& place);
const json& require_object(const json& value, const JsonPlace& place);
const json& require_array(const json& value, const JsonPlace& place);
std::string require_string(const json& value, const JsonPlace& place);
// A boolean member, `fallback` when absent or null.
bool bool_field(const json& object, std::string_view key, bool fallback, const JsonPlace& place);
// Token ids index dense tables, so an absurd id would allocate gigabytes: refuse ids
// at or above this (real vocabularies have well under a million tokens).
inline constexpr int64_t kMaxTokenId = 1 << 24;
// A token id: an integer in [0, kMaxTokenId).
bool is_token_id(const json& value);
int32_t require_token_id(const json& value, const JsonPlace& place);

// The "type" member of a component object (normalizer, pre_tokenizer, ...).
std::string type_field(const json& object, const JsonPlace& place);

}  // namespace cascade::text

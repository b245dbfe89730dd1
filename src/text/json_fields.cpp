#include "text/json_fields.h"

#include "base/error.h"

namespace cascade::text {

JsonPlace JsonPlace::operator/(std::string_view key) const {
  return {source, path.empty() ? std::string(key) : path + "." + std::string(key)};
}

JsonPlace JsonPlace::operator[](size_t index) const {
  return {source, path + "[" + std::to_string(index) + "]"};
}

void JsonPlace::fail(const std::string& message) const {
  throw Error(source + ": field '" + path + "' " + message);
}

const json* find_field(const json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& require_field(const json& object, std::string_view key, const JsonPlace& place) {
  const json* value = find_field(object, key);
  if (!value) (place / key).fail("is missing");
  return *value;
}

const json& require_object(const json& value, const JsonPlace& place) {
  if (!value.is_object()) place.fail("must be an object");
  return value;
}

const json& require_array(const json& value, const JsonPlace& place) {
  if (!value.is_array()) place.fail("must be an array");
  return value;
}

std::string require_string(const json& value, const JsonPlace& place) {
  if (!value.is_string()) place.fail("must be a string");
  return value.get<std::string>();
}

bool bool_field(const json& object, std::string_view key, bool fallback, const JsonPlace& place) {
  const json* value = find_field(object, key);
  if (!value) return fallback;
  if (!value->is_boolean()) (place / key).fail("must be true or false");
  return value->get<bool>();
}

bool is_token_id(const json& value) {
  return value.is_number_integer() && value.get<int64_t>() >= 0 &&
         value.get<int64_t>() < kMaxTokenId;
}

int32_t require_token_id(const json& value, const JsonPlace& place) {
  if (!is_token_id(value)) {
    place.fail("must be a token id, an integer in [0, " + std::to_string(kMaxTokenId) + ")");
  }
  return static_cast<int32_t>(value.get<int64_t>());
}

std::string type_field(const json& object, const JsonPlace& place) {
  require_object(object, place);
  return require_string(require_field(object, "type", place), place / "type");
}

}  // namespace cascade::text

#include "frontend/server/request_fields.h"

#include <algorithm>

#include "base/json_error.h"
#include "frontend/server/api_error.h"

namespace cascade {
namespace {

ApiError wrong_type(std::string_view key, const char* expected) {
  return bad_request("'" + std::string(key) + "' must be " + expected, std::string(key),
                     "invalid_type");
}

}  // namespace

json parse_json_object(const std::string& body) {
  json parsed;
  try {
    parsed = json::parse(body);
  } catch (const json::exception& e) {
    throw bad_request("request body is not valid JSON: " + json_error_text(e), {}, "invalid_json");
  }
  if (!parsed.is_object())
    throw bad_request("request body must be a JSON object", {}, "invalid_json");
  return parsed;
}

const json* find_field(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::optional<bool> bool_field(const json& object, std::string_view key) {
  const json* v = find_field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw wrong_type(key, "a boolean");
  return v->get<bool>();
}

std::optional<double> number_field(const json& object, std::string_view key) {
  const json* v = find_field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw wrong_type(key, "a number");
  return v->get<double>();
}

std::optional<int64_t> integer_field(const json& object, std::string_view key) {
  const json* v = find_field(object, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw wrong_type(key, "an integer within 64 bits");
  }
  if (!v->is_number_integer()) throw wrong_type(key, "an integer");
  return v->get<int64_t>();
}

std::optional<std::string> string_field(const json& object, std::string_view key) {
  const json* v = find_field(object, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw wrong_type(key, "a string");
  return v->get<std::string>();
}

std::vector<std::string> strings_field(const json& object, std::string_view key) {
  const json* v = find_field(object, key);
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  const bool all_strings = v->is_array() && std::all_of(v->begin(), v->end(), [](const json& s) {
                             return s.is_string();
                           });
  if (!all_strings) throw wrong_type(key, "a string or an array of strings");
  return v->get<std::vector<std::string>>();
}

void reject_unknown_fields(const json& object, std::initializer_list<std::string_view> known,
                           std::span<const std::string_view> also_known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end() &&
        std::find(also_known.begin(), also_known.end(), key) == also_known.end()) {
      throw bad_request("unrecognized request argument '" + key + "'", key, "unknown_parameter");
    }
  }
}

void require_default(const json& object, std::string_view key, const json& allowed,
                     const std::string& why) {
  const json* v = find_field(object, key);
  if (v && *v != allowed) {
    throw bad_request("'" + std::string(key) + "' is not supported: " + why, std::string(key),
                      "unsupported_parameter");
  }
}

}  // namespace cascade

// Typed access to the fields of a JSON request body. A field of the wrong type is a 400
// that names it; absent and null fields read as "not given".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cascade {

using json = nlohmann::json;

// Parses a request body that must be a JSON object.
json parse_json_object(const std::string& body);

// The field, or nullptr when absent or null.
const json* find_field(const json& object, std::string_view key);
std::optional<bool> bool_field(const json& object, std::string_view key);
std::optional<double> number_field(const json& object, std::string_view key);
std::optional<int64_t> integer_field(const json& object, std::string_view key);
std::optional<std::string> string_field(const json& object, std::string_view key);
// A string or an array of strings (OpenAI's `stop`).
std::vector<std::string> strings_field(const json& object, std::string_view key);

// Fails on the first member in neither `known` nor `also_known`: a misspelt parameter
// must not be ignored.
void reject_unknown_fields(const json& object, std::initializer_list<std::string_view> known,
                           std::span<const std::string_view> also_known = {});
// Fails unless the field is absent, null or equal to `allowed` (features not implemented).
void require_default(const json& object, std::string_view key, const json& allowed,
                     const std::string& why);

}  // namespace cascade

#include "text/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "base/error.h"

namespace cascade::text {
namespace {

void add_normalizer(const json& config, const JsonPlace& place, bool& nfc) {
  const std::string type = type_field(config, place);
  if (type == "NFC") {
    nfc = true;
  } else if (type == "Sequence") {
    const JsonPlace list_place = place / "normalizers";
    const json& list = require_array(require_field(config, "normalizers", place), list_place);
    for (size_t i = 0; i < list.size(); ++i) add_normalizer(list[i], list_place[i], nfc);
  } else {
    throw Error(place.source + ": unsupported " + place.path + " type '" + type + "'");
  }
}

bool is_ascii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

Normalizer Normalizer::from_json(const json& config, const JsonPlace& place) {
  Normalizer normalizer;
  if (!config.is_null()) add_normalizer(config, place, normalizer.nfc_);
  return normalizer;
}

std::string Normalizer::apply(std::string_view text) const {
  if (!nfc_ || is_ascii(text)) return std::string(text);  // ASCII is already NFC
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) {
    throw Error(std::string("NFC normalization failed: ") + utf8proc_errmsg(length));
  }
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(result, &std::free);
  return std::string(reinterpret_cast<const char*>(result), static_cast<size_t>(length));
}

}  // namespace cascade::text

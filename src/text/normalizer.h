// tokenizer.json "normalizer": none, NFC, or a Sequence of those (all Qwen2/Qwen3 use NFC).
#pragma once

#include <string>
#include <string_view>

#include "text/json_fields.h"

namespace cascade::text {

class Normalizer {
 public:
  Normalizer() = default;  // the identity
  // `config` is the "normalizer" value (null allowed). Unsupported types throw Error.
  static Normalizer from_json(const json& config, const JsonPlace& place);

  // `text` must be valid UTF-8.
  std::string apply(std::string_view text) const;
  bool is_identity() const { return !nfc_; }

 private:
  bool nfc_ = false;
};

}  // namespace cascade::text

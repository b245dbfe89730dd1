// tokenizer.json "pre_tokenizer": cuts normalized text into the words that BPE encodes
// one at a time. Supported: Split (Regex or String pattern, behavior Isolated, not
// inverted) steps followed by a final ByteLevel step (add_prefix_space false; with
// use_regex true it first splits with GPT-2's pattern), alone or in a Sequence.
// The ByteLevel character mapping itself happens in the BPE model, which works on bytes.
#pragma once

#include <string_view>
#include <vector>

#include "text/json_fields.h"
#include "text/regex.h"

namespace cascade::text {

class PreTokenizer {
 public:
  // `config` is the "pre_tokenizer" value; unsupported shapes throw Error.
  static PreTokenizer from_json(const json& config, const JsonPlace& place);

  // Appends the words of `text` (valid UTF-8) to `words`, as views into `text`.
  void split(std::string_view text, std::vector<std::string_view>& words) const;

 private:
  std::vector<Regex> isolating_splits_;  // applied in order, each refining the pieces
};

}  // namespace cascade::text

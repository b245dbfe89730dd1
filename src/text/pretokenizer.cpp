#include "text/pretokenizer.h"

#include <utility>

#include "base/error.h"

namespace cascade::text {
namespace {

// GPT-2's pattern, which ByteLevel applies when its use_regex is true.
constexpr const char* kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

[[noreturn]] void unsupported(const JsonPlace& place, const std::string& what) {
  throw Error(place.source + ": unsupported " + place.path + " " + what);
}

Regex split_regex(const json& step, const JsonPlace& place) {
  const JsonPlace pattern_place = place / "pattern";
  const json& pattern = require_object(require_field(step, "pattern", place), pattern_place);
  if (bool_field(step, "invert", false, place)) unsupported(place / "invert", "value true");
  const std::string behavior =
      require_string(require_field(step, "behavior", place), place / "behavior");
  if (behavior != "Isolated") unsupported(place / "behavior", "'" + behavior + "'");
  const std::string where = place.source + ": field '" + pattern_place.path + "'";
  if (const json* regex = find_field(pattern, "Regex")) {
    return Regex(require_string(*regex, pattern_place / "Regex"), Regex::Syntax::kPattern, where);
  }
  if (const json* literal = find_field(pattern, "String")) {
    return Regex(require_string(*literal, pattern_place / "String"), Regex::Syntax::kLiteral,
                 where);
  }
  pattern_place.fail("must hold \"Regex\" or \"String\"");
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const json& config, const JsonPlace& place) {
  if (config.is_null()) place.fail("is missing (a byte-level BPE needs a ByteLevel step)");
  std::vector<std::pair<const json*, JsonPlace>> steps;
  if (type_field(config, place) == "Sequence") {
    const JsonPlace list_place = place / "pretokenizers";
    const json& list = require_array(require_field(config, "pretokenizers", place), list_place);
    for (size_t i = 0; i < list.size(); ++i) steps.emplace_back(&list[i], list_place[i]);
  } else {
    steps.emplace_back(&config, place);
  }

  PreTokenizer result;
  bool byte_level_seen = false;
  for (const auto& [step, step_place] : steps) {
    const std::string type = type_field(*step, step_place);
    if (byte_level_seen) {
      throw Error(step_place.source + ": field '" + step_place.path +
                  "': ByteLevel must be the last pre-tokenizer step");
    }
    if (type == "Split") {
      result.isolating_splits_.push_back(split_regex(*step, step_place));
    } else if (type == "ByteLevel") {
      if (bool_field(*step, "add_prefix_space", false, step_place)) {
        unsupported(step_place / "add_prefix_space", "value true");
      }
      if (bool_field(*step, "use_regex", true, step_place)) {
        result.isolating_splits_.emplace_back(kByteLevelPattern, Regex::Syntax::kPattern,
                                              step_place.source + ": ByteLevel regex");
      }
      byte_level_seen = true;
    } else {
      throw Error(step_place.source + ": unsupported " + step_place.path + " type '" + type + "'");
    }
  }
  if (!byte_level_seen) {
    place.fail("must end with a ByteLevel step (only byte-level BPE is supported)");
  }
  return result;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& words) const {
  if (text.empty()) return;
  std::vector<std::string_view> pieces{text}, next;
  std::vector<std::pair<size_t, size_t>> matches;
  for (const Regex& regex : isolating_splits_) {
    next.clear();
    for (const std::string_view piece : pieces) {
      // Isolated: every match is a piece, and so is every gap between matches.
      matches.clear();
      regex.find_all(piece, matches);
      size_t previous_end = 0;
      for (const auto& [begin, end] : matches) {
        if (begin > previous_end) next.push_back(piece.substr(previous_end, begin - previous_end));
        next.push_back(piece.substr(begin, end - begin));
        previous_end = end;
      }
      if (previous_end < piece.size()) next.push_back(piece.substr(previous_end));
    }
    pieces.swap(next);
  }
  words.insert(words.end(), pieces.begin(), pieces.end());
}

}  // namespace cascade::text

#include "text/added_tokens.h"

#include <algorithm>
#include <unordered_map>

#include "base/error.h"
#include "text/regex.h"
#include "text/utf8.h"

namespace cascade::text {
namespace {

// Rust's regex crate \s: the Unicode White_Space property.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Rust's regex crate \w, which Hugging Face uses for single_word.
bool is_word_character(std::string_view character) {
  static const Regex word(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])",
                          Regex::Syntax::kPattern, "added token word test");
  return word.matches_at_start(character);
}

bool ends_with_word(std::string_view text) {
  if (text.empty()) return false;
  size_t start = text.size();
  previous_code_point(text, start);
  return is_word_character(text.substr(start));
}

bool starts_with_word(std::string_view text) {
  if (text.empty()) return false;
  size_t end = 0;
  next_code_point(text, end);
  return is_word_character(text.substr(0, end));
}

// Start of the whitespace run that ends `text`.
size_t trailing_space_start(std::string_view text) {
  size_t start = text.size();
  while (start > 0) {
    size_t previous = start;
    if (!is_white_space(previous_code_point(text, previous))) break;
    start = previous;
  }
  return start;
}

// Length of the whitespace run that starts `text`.
size_t leading_space_length(std::string_view text) {
  size_t end = 0;
  while (end < text.size()) {
    size_t next = end;
    if (!is_white_space(next_code_point(text, next))) break;
    end = next;
  }
  return end;
}

}  // namespace

void AddedVocabulary::Matcher::add(std::string_view pattern, int32_t token_index) {
  int32_t node = 0;
  for (const char c : pattern) {
    const auto byte = static_cast<uint8_t>(c);
    auto& edges = children_[node];
    const auto it = std::find_if(edges.begin(), edges.end(),
                                 [byte](const auto& edge) { return edge.first == byte; });
    if (it != edges.end()) {
      node = it->second;
      continue;
    }
    const auto child = static_cast<int32_t>(children_.size());
    edges.emplace_back(byte, child);  // before growing children_, which moves `edges`
    children_.emplace_back();
    terminal_.push_back(-1);
    node = child;
  }
  // The first token with a given content keeps it.
  if (terminal_[node] < 0) terminal_[node] = token_index;
  first_byte_[static_cast<uint8_t>(pattern[0])] = true;
}

bool AddedVocabulary::Matcher::find(std::string_view text, size_t from, size_t& begin, size_t& end,
                                    int32_t& token_index) const {
  if (empty()) return false;
  for (size_t start = from; start < text.size(); ++start) {
    if (!first_byte_[static_cast<uint8_t>(text[start])]) continue;
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t pos = start; pos < text.size(); ++pos) {
      const auto byte = static_cast<uint8_t>(text[pos]);
      const auto& edges = children_[node];
      const auto it = std::find_if(edges.begin(), edges.end(),
                                   [byte](const auto& edge) { return edge.first == byte; });
      if (it == edges.end()) break;
      node = it->second;
      if (terminal_[node] >= 0) {
        best = terminal_[node];
        best_end = pos + 1;
      }
    }
    if (best >= 0) {
      begin = start;
      end = best_end;
      token_index = best;
      return true;
    }
  }
  return false;
}

AddedVocabulary AddedVocabulary::from_json(const json* list, const JsonPlace& place,
                                           const Normalizer& normalizer) {
  AddedVocabulary vocabulary;
  if (!list) return vocabulary;
  require_array(*list, place);
  std::unordered_map<std::string, int32_t> id_of_content;
  for (size_t i = 0; i < list->size(); ++i) {
    const JsonPlace token_place = place[i];
    const json& entry = require_object((*list)[i], token_place);
    AddedToken token;
    token.content =
        require_string(require_field(entry, "content", token_place), token_place / "content");
    if (token.content.empty()) (token_place / "content").fail("must not be empty");
    token.id = require_token_id(require_field(entry, "id", token_place), token_place / "id");
    token.special = bool_field(entry, "special", false, token_place);
    token.single_word = bool_field(entry, "single_word", false, token_place);
    token.lstrip = bool_field(entry, "lstrip", false, token_place);
    token.rstrip = bool_field(entry, "rstrip", false, token_place);
    // Hugging Face's default: special tokens are matched raw, others after normalization.
    token.normalized = bool_field(entry, "normalized", !token.special, token_place);

    const auto [it, inserted] = id_of_content.emplace(token.content, token.id);
    if (!inserted) {
      if (it->second != token.id) {
        token_place.fail("repeats content '" + token.content + "' with another id");
      }
      continue;
    }
    const auto index = static_cast<int32_t>(vocabulary.tokens_.size());
    if (token.normalized) {
      const std::string pattern = normalizer.apply(token.content);
      if (!pattern.empty()) vocabulary.normalized_.add(pattern, index);
    } else {
      vocabulary.raw_.add(token.content, index);
    }
    vocabulary.tokens_.push_back(std::move(token));
  }
  return vocabulary;
}

void AddedVocabulary::split(const Matcher& matcher, std::string_view text,
                            std::vector<Segment>& segments) const {
  size_t done = 0;  // text before this is already in `segments`
  size_t search_from = 0, begin = 0, end = 0;
  int32_t index = -1;
  while (matcher.find(text, search_from, begin, end, index)) {
    search_from = end;  // the search moves on past every match, even a skipped one
    const AddedToken& token = tokens_[index];
    if (token.single_word) {
      const bool alone_on_left = begin == 0 || !ends_with_word(text.substr(0, begin));
      const bool alone_on_right = end == text.size() || !starts_with_word(text.substr(end));
      if (!alone_on_left || !alone_on_right) continue;
    }
    if (token.lstrip) begin = std::max(trailing_space_start(text.substr(0, begin)), done);
    if (token.rstrip) end += leading_space_length(text.substr(end));
    begin = std::max(begin, done);
    if (begin > done) segments.push_back({text.substr(done, begin - done), -1});
    segments.push_back({text.substr(begin, end - begin), token.id});
    done = end;
  }
  if (done < text.size()) segments.push_back({text.substr(done), -1});
}

}  // namespace cascade::text

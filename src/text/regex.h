// A compiled PCRE2 pattern over UTF-8 text with Unicode properties (PCRE2_UTF|PCRE2_UCP),
// JIT-compiled when the library supports it. Safe to use from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascade::text {

class Regex {
 public:
  enum class Syntax { kPattern, kLiteral };
  // Throws Error("<where>: ...") when the pattern does not compile.
  Regex(const std::string& pattern, Syntax syntax, const std::string& where);

  // Byte ranges [begin, end) of the successive non-overlapping, non-empty matches in
  // `text`, which must be valid UTF-8.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& matches) const;
  // Whether the pattern matches at the very start of `text` (valid UTF-8).
  bool matches_at_start(std::string_view text) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string where_;
};

}  // namespace cascade::text

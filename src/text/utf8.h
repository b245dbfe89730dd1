// UTF-8 validation and repair, shared by encoding (input text) and decoding (token bytes).
//
// Invalid sequences are replaced the way Python's bytes.decode("utf-8", errors="replace")
// and Rust's String::from_utf8_lossy do it (Unicode "maximal subpart" practice): each
// maximal prefix of a well-formed sequence that cannot be completed becomes one U+FFFD,
// and a byte that cannot start any sequence becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cascade::text {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

bool is_valid_utf8(std::string_view bytes);

// Appends `bytes` to `out` with invalid sequences replaced by U+FFFD. When `final` is
// false, a trailing sequence that is incomplete but could still become valid is left
// unconsumed. Returns the number of bytes of `bytes` consumed.
size_t append_repaired_utf8(std::string_view bytes, std::string& out, bool final);

inline std::string repair_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_repaired_utf8(bytes, out, /*final=*/true);
  return out;
}

// Decodes the code point starting at `text[pos]` of valid UTF-8 and advances `pos`.
char32_t next_code_point(std::string_view text, size_t& pos);
// Decodes the code point ending just before `text[end]` of valid UTF-8 and moves `end`
// back to its first byte.
char32_t previous_code_point(std::string_view text, size_t& end);
void append_code_point(char32_t code_point, std::string& out);

}  // namespace cascade::text

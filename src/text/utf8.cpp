#include "text/utf8.h"

#include <cstdint>

namespace cascade::text {
namespace {

// One step of the UTF-8 scanner at `bytes[pos]`.
struct Sequence {
  size_t length;   // bytes covered: the whole character, or the maximal invalid subpart
  bool valid;      // a complete, well-formed character
  bool truncated;  // invalid only because the input ended inside it
};

Sequence scan(std::string_view bytes, size_t pos) {
  const auto lead = static_cast<uint8_t>(bytes[pos]);
  if (lead < 0x80) return {1, true, false};
  // Table 3-7 of the Unicode standard: the allowed range of the second byte depends on
  // the lead byte (it excludes overlong forms, surrogates and code points > U+10FFFF).
  size_t need = 0;
  uint8_t low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {1, false, false};
  }
  for (size_t k = 1; k < need; ++k) {
    if (pos + k >= bytes.size()) return {k, false, true};
    const auto c = static_cast<uint8_t>(bytes[pos + k]);
    if (c < low || c > high) return {k, false, false};
    low = 0x80;
    high = 0xBF;
  }
  return {need, true, false};
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  for (size_t pos = 0; pos < bytes.size();) {
    const Sequence s = scan(bytes, pos);
    if (!s.valid) return false;
    pos += s.length;
  }
  return true;
}

size_t append_repaired_utf8(std::string_view bytes, std::string& out, bool final) {
  size_t pos = 0, copied_from = 0;
  while (pos < bytes.size()) {
    const Sequence s = scan(bytes, pos);
    if (s.valid) {
      pos += s.length;
      continue;
    }
    out.append(bytes.substr(copied_from, pos - copied_from));
    if (s.truncated && !final) return pos;  // may still complete with more bytes
    out.append(kReplacementCharacter);
    pos += s.length;
    copied_from = pos;
  }
  out.append(bytes.substr(copied_from));
  return bytes.size();
}

char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto lead = static_cast<uint8_t>(text[pos++]);
  if (lead < 0x80) return lead;
  const int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
  char32_t cp = lead & (0x3F >> extra);
  for (int k = 0; k < extra && pos < text.size(); ++k) {
    cp = (cp << 6) | (static_cast<uint8_t>(text[pos++]) & 0x3F);
  }
  return cp;
}

char32_t previous_code_point(std::string_view text, size_t& end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  size_t pos = start;
  const char32_t cp = next_code_point(text, pos);
  end = start;
  return cp;
}

void append_code_point(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace cascade::text

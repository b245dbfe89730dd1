#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace cascade::text {
namespace {

bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

struct Alphabet {
  std::array<char32_t, 256> char_of_byte{};
  static constexpr char32_t kShiftedEnd = 0x100 + 68;
  std::array<int16_t, kShiftedEnd> byte_of_char{};  // -1: not in the alphabet

  Alphabet() {
    byte_of_char.fill(-1);
    char32_t next_shifted = 0x100;
    for (int b = 0; b < 256; ++b) {
      const char32_t ch = stands_for_itself(b) ? static_cast<char32_t>(b) : next_shifted++;
      char_of_byte[b] = ch;
      byte_of_char[ch] = static_cast<int16_t>(b);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) {
  return alphabet().char_of_byte[byte];
}

std::optional<uint8_t> char_to_byte(char32_t ch) {
  if (ch >= Alphabet::kShiftedEnd) return std::nullopt;
  const int16_t b = alphabet().byte_of_char[ch];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) append_code_point(byte_to_char(static_cast<uint8_t>(c)), out);
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t pos = 0; pos < token.size();) {
    const auto byte = char_to_byte(next_code_point(token, pos));
    if (!byte) return std::nullopt;
    out.push_back(static_cast<char>(*byte));
  }
  return out;
}

}  // namespace cascade::text

// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one printable
// Unicode character, so that a byte-level BPE vocabulary is a set of ordinary strings.
// Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other
// 68 bytes map, in order, to U+0100..U+0143 (so the space byte is 'Ġ', U+0120).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cascade::text {

char32_t byte_to_char(uint8_t byte);
// The byte that `ch` stands for, or nullopt when `ch` is not in the alphabet.
std::optional<uint8_t> char_to_byte(char32_t ch);

// Raw bytes -> their byte-level string (UTF-8 of the mapped characters).
std::string bytes_to_byte_level(std::string_view bytes);
// Byte-level string -> raw bytes; nullopt when a character is not in the alphabet.
std::optional<std::string> byte_level_to_bytes(std::string_view token);

}  // namespace cascade::text

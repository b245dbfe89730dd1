// The byte-level alphabet and UTF-8 repair under the tokenizer.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace cascade::text {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(ByteLevel, AllBytesRoundTrip) {
  std::set<char32_t> seen;
  std::string all;
  for (int b = 0; b < 256; ++b) {
    const char32_t ch = byte_to_char(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(ch).second) << "byte " << b << " shares its character";
    ASSERT_EQ(char_to_byte(ch), static_cast<uint8_t>(b)) << "byte " << b;
    all.push_back(static_cast<char>(b));
  }
  const std::string mapped = bytes_to_byte_level(all);
  EXPECT_EQ(byte_level_to_bytes(mapped), all);
}

TEST(ByteLevel, KnownCharacters) {
  EXPECT_EQ(byte_to_char(' '), U'\u0120');   // Ġ
  EXPECT_EQ(byte_to_char('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(byte_to_char('!'), U'!');
  EXPECT_EQ(byte_to_char(0xAD), U'\u0143');  // the soft hyphen is the last shifted byte
  EXPECT_EQ(byte_to_char(0xE9), U'\u00E9');  // é stands for itself
  EXPECT_EQ(bytes_to_byte_level(" hi\n"), "\xC4\xA0hi\xC4\x8A");
}

TEST(ByteLevel, CharactersOutsideTheAlphabetAreRejected) {
  EXPECT_EQ(char_to_byte(U' '), std::nullopt);  // the space byte is written Ġ
  EXPECT_EQ(char_to_byte(U'\u0144'), std::nullopt);
  EXPECT_EQ(byte_level_to_bytes("<|im_start|>"), "<|im_start|>");
  EXPECT_EQ(byte_level_to_bytes("a b"), std::nullopt);
  EXPECT_EQ(byte_level_to_bytes("\xE4\xBD\xA0"), std::nullopt);  // 你
}

TEST(Utf8, ValidTextIsUnchanged) {
  const std::string text = "plain, \xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80, \xF4\x8F\xBF\xBF";
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_EQ(repair_utf8(text), text);
}

TEST(Utf8, MaximalSubpartsBecomeOneReplacementEach) {
  // The example of the Unicode standard (section 3.9, "U+FFFD substitution of maximal
  // subparts"), which Python's errors="replace" and Rust's from_utf8_lossy follow.
  EXPECT_EQ(repair_utf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
  EXPECT_EQ(repair_utf8("\xC0\xAF"), kFffd + kFffd);                          // overlong
  EXPECT_EQ(repair_utf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);              // overlong
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // surrogate
  EXPECT_EQ(repair_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(repair_utf8("\xF0\x9F\x98"), kFffd);                              // truncated at end
  EXPECT_EQ(repair_utf8("\xF0\x9F\x98x"), kFffd + "x");
  EXPECT_EQ(repair_utf8("\xFF\xFE"), kFffd + kFffd);
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));
}

TEST(Utf8, IncompleteTailIsHeldBackUnlessFinal) {
  std::string out;
  EXPECT_EQ(append_repaired_utf8("ab\xF0\x9F", out, /*final=*/false), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  // An invalid byte is final even when it ends the input.
  EXPECT_EQ(append_repaired_utf8("ab\x80", out, false), 3u);
  EXPECT_EQ(out, "ab" + kFffd);
  out.clear();
  EXPECT_EQ(append_repaired_utf8("\xF0\x9F\x98", out, true), 3u);
  EXPECT_EQ(out, kFffd);
}

TEST(Utf8, CodePoints) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  size_t pos = 0;
  EXPECT_EQ(next_code_point(text, pos), U'a');
  EXPECT_EQ(next_code_point(text, pos), U'\u00E9');
  EXPECT_EQ(next_code_point(text, pos), U'\u20AC');
  EXPECT_EQ(next_code_point(text, pos), U'\U0001F600');
  EXPECT_EQ(pos, text.size());
  size_t end = text.size();
  EXPECT_EQ(previous_code_point(text, end), U'\U0001F600');
  EXPECT_EQ(end, 6u);
  std::string encoded;
  for (const char32_t c : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600'})
    append_code_point(c, encoded);
  EXPECT_EQ(encoded, text);
}

}  // namespace
}  // namespace cascade::text

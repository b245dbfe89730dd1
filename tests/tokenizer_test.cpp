// The tokenizer on the real Qwen3 tokenizer.json: ids, added tokens, normalization,
// invalid UTF-8, decode options and speed. (tokenizer_golden_test.cpp checks a 2,080-line
// corpus against Hugging Face; these pin down individual behaviours.)
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/error.h"
#include "test_paths.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

using Ids = std::vector<int32_t>;

const Tokenizer& qwen3() {
  static const Tokenizer tokenizer = Tokenizer::load(test::qwen3_tokenizer_dir());
  return tokenizer;
}

TEST(Tokenizer, EncodesPlainText) {
  // Ids from Hugging Face tokenizers.
  EXPECT_EQ(qwen3().encode("Hello, world"), (Ids{9707, 11, 1879}));
}

TEST(Tokenizer, EmptyStringIsNoTokens) {
  EXPECT_EQ(qwen3().encode(""), Ids{});
  EXPECT_EQ(qwen3().decode(Ids{}), "");
}

TEST(Tokenizer, SpecialTokensInsideTextBecomeTheirIds) {
  const Ids ids = qwen3().encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids, (Ids{151644, 872, 198, 6023, 151645}));
  EXPECT_EQ(qwen3().decode(ids), "<|im_start|>user\nhi<|im_end|>");
  // Non-special added tokens are matched too, and may touch words on both sides.
  EXPECT_EQ(qwen3().encode("a<think>b</think>"),
            (Ids{qwen3().token_to_id("a"), 151667, qwen3().token_to_id("b"), 151668}));
  // A near miss is ordinary text.
  const Ids near_miss = qwen3().encode("<|im_start|");
  for (const int32_t id : near_miss) EXPECT_LT(id, 151643);
}

TEST(Tokenizer, NormalizesToNfc) {
  EXPECT_EQ(qwen3().encode("e\xCC\x81"), qwen3().encode("\xC3\xA9"));  // e + U+0301 == é
  EXPECT_EQ(qwen3().encode("Cafe\xCC\x81 Zu\xCC\x88rich"), qwen3().encode("Café Zürich"));
  EXPECT_EQ(qwen3().decode(qwen3().encode("e\xCC\x81")), "\xC3\xA9");
}

TEST(Tokenizer, InvalidUtf8IsEncodedAsReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(qwen3().encode("a\xFF"
                           "b"),
            qwen3().encode("a" + fffd + "b"));
  // A truncated sequence is one U+FFFD; a lone continuation byte is one each.
  EXPECT_EQ(qwen3().encode("x\xE2\x82"), qwen3().encode("x" + fffd));
  EXPECT_EQ(qwen3().encode("\x80\x80"), qwen3().encode(fffd + fffd));
  // A surrogate (ED A0 80) is three invalid bytes.
  EXPECT_EQ(qwen3().encode("\xED\xA0\x80"), qwen3().encode(fffd + fffd + fffd));
  EXPECT_EQ(qwen3().decode(qwen3().encode("a\xFF"
                                          "b")),
            "a" + fffd + "b");
}

TEST(Tokenizer, DecodeReplacesInvalidUtf8) {
  // 'â' is the byte-level token for the single byte 0xE2, the lead byte of "€".
  const int32_t lead = qwen3().token_to_id("\xC3\xA2");
  ASSERT_GE(lead, 0);
  ASSERT_EQ(qwen3().token_bytes(lead), "\xE2");
  const int32_t x = qwen3().token_to_id("x");
  EXPECT_EQ(qwen3().decode(Ids{lead}), "\xEF\xBF\xBD");
  EXPECT_EQ(qwen3().decode(Ids{lead, x}), "\xEF\xBF\xBDx");
  EXPECT_EQ(qwen3().decode(Ids{x, lead, lead}), "x\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Tokenizer, DecodeCanSkipSpecialTokens) {
  const Ids ids = qwen3().encode("<|im_start|>user\nhi<think>x</think><|im_end|>");
  EXPECT_EQ(qwen3().decode(ids, /*skip_special_tokens=*/true), "user\nhi<think>x</think>");
  EXPECT_EQ(qwen3().decode(ids, false), "<|im_start|>user\nhi<think>x</think><|im_end|>");
}

TEST(Tokenizer, DecodeRejectsUnknownIds) {
  for (const int32_t bad : {-1, 151669, 1 << 30}) {
    try {
      qwen3().decode(Ids{9707, bad});
      ADD_FAILURE() << "decode accepted id " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("token id " + std::to_string(bad)), std::string::npos)
          << e.what();
    }
  }
}

TEST(Tokenizer, VocabularyLookups) {
  EXPECT_EQ(qwen3().vocab_size(), 151669);
  EXPECT_EQ(qwen3().token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen3().token_to_id("Hello"), 9707);
  EXPECT_EQ(qwen3().token_to_id("\xC4\xA0world"), 1879);  // "Ġworld"
  EXPECT_EQ(qwen3().token_to_id("no such token here"), -1);
  EXPECT_EQ(qwen3().id_to_token(151645), "<|im_end|>");
  EXPECT_EQ(qwen3().id_to_token(1879), "\xC4\xA0world");
  EXPECT_THROW(qwen3().id_to_token(151669), Error);
  EXPECT_TRUE(qwen3().is_special(151643));   // <|endoftext|>
  EXPECT_TRUE(qwen3().is_special(151656));   // <|video_pad|>
  EXPECT_FALSE(qwen3().is_special(151657));  // <tool_call>
  EXPECT_FALSE(qwen3().is_special(151667));  // <think>
  EXPECT_FALSE(qwen3().is_special(9707));
  EXPECT_FALSE(qwen3().is_special(-1));
  EXPECT_FALSE(qwen3().is_special(1 << 30));
}

// Seconds to encode `text` with the (already loaded) tokenizer.
double encode_seconds(const Tokenizer& tokenizer, const std::string& text, Ids* ids) {
  const auto start = std::chrono::steady_clock::now();
  *ids = tokenizer.encode(text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Encoding must scale linearly: 10x the text may take at most 30x the time (quadratic
// merging would take ~100x). A ratio, not an absolute time, so a busy machine cannot fail it.
void expect_linear_encoding(const std::string& unit) {
  const Tokenizer& tokenizer = qwen3();  // loaded outside the timed region
  std::string small, large;
  while (small.size() < 10 * 1024) small += unit;
  while (large.size() < 100 * 1024) large += unit;
  Ids ids;
  encode_seconds(tokenizer, small, &ids);  // warm the word cache's allocation paths
  const double t_small = encode_seconds(tokenizer, small, &ids);
  const double t_large = encode_seconds(tokenizer, large, &ids);
  EXPECT_LT(t_large, 30 * t_small + 0.05)
      << "10 KB: " << t_small << " s, 100 KB: " << t_large << " s";
  EXPECT_EQ(tokenizer.decode(ids), large);
}

TEST(Tokenizer, EncodesLongTextInLinearTime) {
  expect_linear_encoding(
      "The quick brown fox jumps over the lazy dog. def f(x):\n    return x * 2\n"
      "Zürich → München ≈ 3½ hours; 日本語のテキスト。emoji 😀🦜 and 12345678 "
      "digits\n\n"
      "    indented\tand\ttabbed   text   ");
}

TEST(Tokenizer, EncodesPathologicalLongWordsInLinearTime) {
  // One long word, one long run of spaces and one of CJK without spaces.
  for (const std::string& unit :
       {std::string("a"), std::string(" "), std::string("\xE6\x97\xA5")}) {
    expect_linear_encoding(unit);
  }
}

TEST(Tokenizer, CopiesShareOneState) {
  const Tokenizer copy = qwen3();
  EXPECT_EQ(copy.encode("Hello, world"), (Ids{9707, 11, 1879}));
}

}  // namespace
}  // namespace cascade

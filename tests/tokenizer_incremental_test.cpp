// IncrementalDecoder: streaming text that is always whole UTF-8 and adds up to decode().
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_paths.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace cascade {
namespace {

using Ids = std::vector<int32_t>;

const Tokenizer& qwen3() {
  static const Tokenizer tokenizer = Tokenizer::load(test::qwen3_tokenizer_dir());
  return tokenizer;
}

// Streams `ids` one by one; checks every piece is valid UTF-8 and the whole equals decode().
void expect_streams_like_decode(const Ids& ids, bool skip_special_tokens) {
  IncrementalDecoder decoder(qwen3(), skip_special_tokens);
  std::string streamed;
  for (const int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(text::is_valid_utf8(piece)) << "broken UTF-8 after id " << id;
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, qwen3().decode(ids, skip_special_tokens));
}

TEST(IncrementalDecoder, EmojiSplitOverSeveralTokens) {
  // A rare emoji (U+1FAE8, "shaking face") has no token of its own: its 4 bytes are split
  // over several byte-level tokens, none of which is valid UTF-8 alone.
  const std::string emoji = "\xF0\x9F\xAB\xA8";
  const Ids ids = qwen3().encode(emoji);
  ASSERT_GE(ids.size(), 2u) << "pick an emoji that takes several tokens";
  IncrementalDecoder decoder(qwen3());
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(decoder.push(ids[i]), "") << i;
  EXPECT_EQ(decoder.push(ids.back()), emoji);
  EXPECT_EQ(decoder.flush(), "");
}

TEST(IncrementalDecoder, TextAroundSplitCharactersComesOutAsSoonAsComplete) {
  const Ids ids = qwen3().encode("ok \xF0\x9F\xAB\xA8!");
  IncrementalDecoder decoder(qwen3());
  std::vector<std::string> pieces;
  for (const int32_t id : ids) pieces.push_back(decoder.push(id));
  EXPECT_EQ(pieces.front(), "ok");
  std::string all;
  for (const auto& piece : pieces) all += piece;
  EXPECT_EQ(all, "ok \xF0\x9F\xAB\xA8!");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(IncrementalDecoder, IncompleteTailBecomesReplacementOnFlush) {
  const int32_t lead = qwen3().token_to_id("\xC3\xB0");  // byte 0xF0: starts a 4-byte char
  ASSERT_GE(lead, 0);
  IncrementalDecoder decoder(qwen3());
  EXPECT_EQ(decoder.push(qwen3().token_to_id("a")), "a");
  EXPECT_EQ(decoder.push(lead), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");
  // An invalid continuation is reported as soon as it is seen, then text goes on.
  EXPECT_EQ(decoder.push(lead), "");
  EXPECT_EQ(decoder.push(qwen3().token_to_id("a")),
            "\xEF\xBF\xBD"
            "a");
}

TEST(IncrementalDecoder, SkipsSpecialTokensWhenAsked) {
  const Ids ids = qwen3().encode("<|im_start|>assistant\n<think>\nhm</think>\n\nHi<|im_end|>");
  IncrementalDecoder decoder(qwen3(), /*skip_special_tokens=*/true);
  std::string streamed;
  for (const int32_t id : ids) streamed += decoder.push(id);
  streamed += decoder.flush();
  EXPECT_EQ(streamed, "assistant\n<think>\nhm</think>\n\nHi");
  expect_streams_like_decode(ids, false);
}

TEST(IncrementalDecoder, RejectsUnknownIds) {
  IncrementalDecoder decoder(qwen3());
  EXPECT_THROW(decoder.push(-5), std::exception);
  EXPECT_THROW(decoder.push(qwen3().vocab_size()), std::exception);
}

TEST(IncrementalDecoder, MatchesDecodeOnTheCorpus) {
  std::ifstream in(test::fixture("tokenizer/qwen3_ids.jsonl"));
  ASSERT_TRUE(in) << "missing tests/fixtures/tokenizer/qwen3_ids.jsonl";
  std::string line;
  Ids all;
  while (std::getline(in, line)) {
    const Ids ids = nlohmann::json::parse(line).get<Ids>();
    all.insert(all.end(), ids.begin(), ids.end());
  }
  ASSERT_GT(all.size(), 10000u);
  expect_streams_like_decode(all, false);
  expect_streams_like_decode(all, true);
  // Every byte-level token alone, in id order: lone bytes, broken sequences and all.
  Ids every_token;
  for (int32_t id = 0; id < qwen3().vocab_size(); ++id) every_token.push_back(id);
  expect_streams_like_decode(every_token, false);
}

}  // namespace
}  // namespace cascade

// Edge cases the corpus does not cover, against Hugging Face tokenizers 0.23
// (tests/fixtures/tokenizer/edge_cases.jsonl, made by tools/make_tokenizer_edge_cases.py):
// whitespace outside ASCII, controls, NUL, NFC corner cases, contractions under case
// folding, and, on a small tokenizer (flags_tokenizer.json), added tokens with every
// lstrip / rstrip / single_word / normalized combination.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_paths.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

using Ids = std::vector<int32_t>;

TEST(TokenizerEdgeCases, MatchHuggingFace) {
  const Tokenizer qwen3 = Tokenizer::load(test::qwen3_tokenizer_dir());
  const Tokenizer flags = Tokenizer::from_json(
      [] {
        std::ifstream in(test::fixture("tokenizer/flags_tokenizer.json"));
        return std::string(std::istreambuf_iterator<char>(in), {});
      }(),
      "flags_tokenizer.json");
  std::ifstream in(test::fixture("tokenizer/edge_cases.jsonl"));
  ASSERT_TRUE(in) << "missing tests/fixtures/tokenizer/edge_cases.jsonl";
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    const auto row = nlohmann::json::parse(line);
    const bool is_qwen3 = row["tokenizer"] == "qwen3";
    const Tokenizer& tokenizer = is_qwen3 ? qwen3 : flags;
    const auto text = row["text"].get<std::string>();
    const auto expected = row["ids"].get<Ids>();
    const std::string where = row["tokenizer"].get<std::string>() + " " + row["text"].dump();
    EXPECT_EQ(nlohmann::json(tokenizer.encode(text)).dump(), nlohmann::json(expected).dump())
        << where;
    EXPECT_EQ(tokenizer.decode(expected), row["decoded"].get<std::string>()) << where;
    EXPECT_EQ(tokenizer.decode(expected, /*skip_special_tokens=*/true),
              row["decoded_skip_special"].get<std::string>())
        << where;
  }
  EXPECT_GE(rows, 100);
}

}  // namespace
}  // namespace cascade

// The tokenizer against Hugging Face tokenizers on tests/fixtures/tokenizer/corpus.jsonl:
// ids (add_special_tokens=False) and decode, for the real Qwen3 tokenizer and for the
// tiny test models' tokenizer (trained with the same pipeline).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <utf8proc.h>

#include <cstdlib>

#include "test_paths.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << path
                  << " (made by tools/make_fixtures.py with HF tokenizers)";
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// NFC with utf8proc directly: the tokenizer normalizes, so decode(encode(s)) is NFC(s).
std::string nfc(const std::string& text) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  EXPECT_GE(n, 0) << "utf8proc_map failed";
  std::string result(reinterpret_cast<const char*>(out), n < 0 ? 0 : static_cast<size_t>(n));
  std::free(out);
  return result;
}

std::string show(const std::vector<int32_t>& ids) {
  return nlohmann::json(ids).dump();
}

void check_golden(const Tokenizer& tokenizer, const std::string& ids_file,
                  const std::string& decoded_file) {
  const auto corpus = read_jsonl(test::fixture("tokenizer/corpus.jsonl"));
  const auto golden_ids = read_jsonl(test::fixture(ids_file));
  const auto golden_text = read_jsonl(test::fixture(decoded_file));
  ASSERT_GE(corpus.size(), 2000u);
  ASSERT_EQ(golden_ids.size(), corpus.size());
  ASSERT_EQ(golden_text.size(), corpus.size());

  int id_mismatches = 0, decode_mismatches = 0, round_trip_failures = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto text = corpus[i].get<std::string>();
    const auto expected = golden_ids[i].get<std::vector<int32_t>>();
    const auto ids = tokenizer.encode(text);
    if (ids != expected && ++id_mismatches <= 5) {
      ADD_FAILURE() << ids_file << " line " << i + 1 << ": " << nlohmann::json(text).dump()
                    << "\n  expected " << show(expected) << "\n  got      " << show(ids);
    }
    const std::string decoded = tokenizer.decode(expected);
    if (decoded != golden_text[i].get<std::string>() && ++decode_mismatches <= 5) {
      ADD_FAILURE() << decoded_file << " line " << i + 1 << ": decode gives "
                    << nlohmann::json(decoded).dump() << ", HF gives " << golden_text[i].dump();
    }
    // Exact for the lines already in NFC (95% of them); NFC(s) for the others.
    if (tokenizer.decode(ids) != nfc(text) && ++round_trip_failures <= 5) {
      ADD_FAILURE() << "line " << i + 1 << ": decode(encode(s)) != NFC(s) for "
                    << nlohmann::json(text).dump();
    }
  }
  EXPECT_EQ(id_mismatches, 0) << "lines whose ids differ from HF";
  EXPECT_EQ(decode_mismatches, 0) << "lines whose decode differs from HF";
  EXPECT_EQ(round_trip_failures, 0) << "lines where decode(encode(s)) != NFC(s)";
}

TEST(TokenizerGolden, Qwen3MatchesHuggingFace) {
  const Tokenizer tokenizer = Tokenizer::load(test::qwen3_tokenizer_dir());
  check_golden(tokenizer, "tokenizer/qwen3_ids.jsonl", "tokenizer/qwen3_decoded.jsonl");
}

TEST(TokenizerGolden, TinyModelTokenizerMatchesHuggingFace) {
  const Tokenizer tokenizer = Tokenizer::load(test::fixture("models/qwen3-tiny"));
  check_golden(tokenizer, "tokenizer/tiny_ids.jsonl", "tokenizer/tiny_decoded.jsonl");
}

}  // namespace
}  // namespace cascade

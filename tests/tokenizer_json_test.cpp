// Tokenizer::from_json on small hand-made tokenizer.json files: BPE merge order, both
// merge spellings, and the errors for malformed or unsupported files.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "test_paths.h"
#include "text/byte_level.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

constexpr const char* kQwenSplit =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A byte-level BPE in the Qwen layout: ids 0..255 are the bytes, then `extra` tokens in
// order (ids 256, 257, ...), with the given merges.
json make_tokenizer(const std::vector<std::string>& extra, const json& merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[text::bytes_to_byte_level(std::string(1, char(b)))] = b;
  for (size_t i = 0; i < extra.size(); ++i) vocab[extra[i]] = 256 + i;
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", json::array()},
          {"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", kQwenSplit}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"},
               {"add_prefix_space", false},
               {"trim_offsets", false},
               {"use_regex", false}}}}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

// Merges as ["left", "right"] pairs (a braced list of pairs would become a JSON object).
json pairs(std::initializer_list<std::pair<const char*, const char*>> merges) {
  json list = json::array();
  for (const auto& [left, right] : merges) list.push_back(json::array({left, right}));
  return list;
}

Tokenizer build(const json& config) {
  return Tokenizer::from_json(config.dump(), "tok.json");
}

Ids bytes_of(const std::string& text) {
  Ids ids;
  for (const char c : text) ids.push_back(static_cast<uint8_t>(c));
  return ids;
}

TEST(TokenizerJson, LowestRankMergesFirstNotLeftmost) {
  // "abc": (b,c) has rank 0, so it wins over the leftmost pair (a,b).
  const Tokenizer t = build(make_tokenizer({"bc", "ab"}, pairs({{"b", "c"}, {"a", "b"}})));
  EXPECT_EQ(t.encode("abc"), (Ids{'a', 256}));
  const Tokenizer u = build(make_tokenizer({"ab", "bc"}, pairs({{"a", "b"}, {"b", "c"}})));
  EXPECT_EQ(u.encode("abc"), (Ids{256, 'c'}));
}

TEST(TokenizerJson, EqualRanksMergeLeftmostFirst) {
  const Tokenizer t = build(make_tokenizer({"aa", "aaaa"}, pairs({{"a", "a"}, {"aa", "aa"}})));
  EXPECT_EQ(t.encode("aaa"), (Ids{256, 'a'}));
  EXPECT_EQ(t.encode("aaaaa"), (Ids{257, 'a'}));
  EXPECT_EQ(t.encode("aaaaaa"), (Ids{257, 256}));
}

TEST(TokenizerJson, MergesMayBeStringsOrPairs) {
  const Tokenizer as_pairs = build(make_tokenizer(
      {"he", "ll", "hell", "hello"}, pairs({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}})));
  const Tokenizer as_strings = build(make_tokenizer(
      {"he", "ll", "hell", "hello"}, json::array({"h e", "l l", "he ll", "hell o"})));
  for (const char* text : {"hello", "hell", "shell", "hello hello"}) {
    EXPECT_EQ(as_pairs.encode(text), as_strings.encode(text)) << text;
  }
  EXPECT_EQ(as_pairs.encode("hello"), Ids{259});
  EXPECT_EQ(as_pairs.encode("shell"), (Ids{'s', 258}));
}

TEST(TokenizerJson, WordsAreSplitBeforeMerging) {
  // The space starts the second word, so "a a" never merges across it.
  const Tokenizer t = build(make_tokenizer({"aa"}, pairs({{"a", "a"}})));
  EXPECT_EQ(t.encode("a a"), (Ids{'a', ' ', 'a'}));
  EXPECT_EQ(t.encode(""), Ids{});
  EXPECT_EQ(t.encode("\xF0\x9F\x98\x80"), bytes_of("\xF0\x9F\x98\x80"));
}

TEST(TokenizerJson, IgnoreMergesTakesWholeWordsFromTheVocab) {
  // "abc" is in the vocab but no merge builds it; with ignore_merges it is found whole.
  json config = make_tokenizer({"ab", "abc"}, pairs({{"a", "b"}}));
  EXPECT_EQ(build(config).encode("abc"), (Ids{256, 'c'}));
  config["model"]["ignore_merges"] = true;
  EXPECT_EQ(build(config).encode("abc"), Ids{257});
}

// --- errors ---------------------------------------------------------------------------

void expect_error(const std::string& json_text, const std::string& expected_part) {
  try {
    Tokenizer::from_json(json_text, "dir/tokenizer.json");
    ADD_FAILURE() << "no error; expected one containing: " << expected_part;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("dir/tokenizer.json: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected_part), std::string::npos)
        << "message: " << message << "\nexpected to contain: " << expected_part;
  }
}

void expect_error(const std::function<void(json&)>& edit, const std::string& expected_part) {
  json config = make_tokenizer({"ab"}, pairs({{"a", "b"}}));
  edit(config);
  expect_error(config.dump(), expected_part);
}

TEST(TokenizerJsonErrors, NotJson) {
  expect_error("{\"model\": ", "not valid JSON");
  expect_error("[1, 2]", "must hold a JSON object");
}

TEST(TokenizerJsonErrors, Model) {
  expect_error([](json& c) { c.erase("model"); }, "field 'model' is missing");
  expect_error([](json& c) { c["model"]["vocab"] = json::array(); },
               "field 'model.vocab' must be an object");
  expect_error([](json& c) { c["model"].erase("vocab"); }, "field 'model.vocab' is missing");
  expect_error([](json& c) { c["model"]["vocab"]["zz"] = "7"; },
               "field 'model.vocab.zz' must be a token id");
  expect_error([](json& c) { c["model"]["vocab"]["zz"] = 97; },
               "field 'model.vocab' gives id 97 to both");
  expect_error([](json& c) { c["model"]["vocab"].erase("a"); },
               "field 'model.vocab' lacks the byte-level token 'a'");
  expect_error([](json& c) { c["model"]["merges"] = "a b"; },
               "field 'model.merges' must be an array");
  expect_error(
      [](json& c) {
        c["model"]["merges"].push_back({"a", "zz"});
      },
      "field 'model.merges[1]' names unknown token 'zz'");
  expect_error([](json& c) { c["model"]["merges"].push_back("q r"); },
               "field 'model.merges[1]' makes 'qr', which is not in the vocab");
  expect_error([](json& c) { c["model"]["merges"].push_back("a b c"); },
               "field 'model.merges[1]' must be two tokens separated by one space");
  expect_error(
      [](json& c) {
        c["model"]["merges"].push_back({"a", "b", "c"});
      },
      "field 'model.merges[1]' must be a string");
  expect_error([](json& c) { c["model"]["type"] = "WordPiece"; },
               "unsupported model type 'WordPiece'");
  expect_error([](json& c) { c["model"]["dropout"] = 0.1; }, "unsupported model.dropout");
  expect_error([](json& c) { c["model"]["byte_fallback"] = true; },
               "unsupported model.byte_fallback");
  expect_error([](json& c) { c["model"]["continuing_subword_prefix"] = "##"; },
               "unsupported model.continuing_subword_prefix");
}

TEST(TokenizerJsonErrors, Pipeline) {
  expect_error(
      [](json& c) {
        c["pre_tokenizer"] = {{"type", "Metaspace"}};
      },
      "unsupported pre_tokenizer type 'Metaspace'");
  expect_error([](json& c) { c["pre_tokenizer"]["pretokenizers"][0]["type"] = "Digits"; },
               "unsupported pre_tokenizer.pretokenizers[0] type 'Digits'");
  expect_error([](json& c) { c["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; },
               "unsupported pre_tokenizer.pretokenizers[0].behavior 'Removed'");
  expect_error([](json& c) { c["pre_tokenizer"]["pretokenizers"][0]["invert"] = true; },
               "unsupported pre_tokenizer.pretokenizers[0].invert");
  expect_error(
      [](json& c) {
        c["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(a"}};
      },
      "field 'pre_tokenizer.pretokenizers[0].pattern': regex does not compile");
  expect_error([](json& c) { c["pre_tokenizer"]["pretokenizers"].erase(1); },
               "field 'pre_tokenizer' must end with a ByteLevel step");
  expect_error([](json& c) { c["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; },
               "unsupported pre_tokenizer.pretokenizers[1].add_prefix_space");
  expect_error([](json& c) { c["pre_tokenizer"] = nullptr; }, "field 'pre_tokenizer' is missing");
  expect_error(
      [](json& c) {
        c["normalizer"] = {{"type", "NFKC"}};
      },
      "unsupported normalizer type 'NFKC'");
  expect_error(
      [](json& c) {
        c["normalizer"] = {{"kind", "NFC"}};
      },
      "field 'normalizer.type' is missing");
  expect_error([](json& c) { c.erase("decoder"); }, "field 'decoder' is missing");
  expect_error(
      [](json& c) {
        c["decoder"] = {{"type", "WordPiece"}};
      },
      "unsupported decoder type 'WordPiece'");
  expect_error(
      [](json& c) {
        c["post_processor"] = {{"type", "TemplateProcessing"}};
      },
      "unsupported post_processor type 'TemplateProcessing'");
  expect_error([](json& c) { c["truncation"] = {{"max_length", 8}}; }, "unsupported truncation");
}

TEST(TokenizerJsonErrors, AddedTokens) {
  expect_error(
      [](json& c) {
        c["added_tokens"] = {{{"id", 300}}};
      },
      "field 'added_tokens[0].content' is missing");
  expect_error(
      [](json& c) {
        c["added_tokens"] = {{{"id", -1}, {"content", "<x>"}}};
      },
      "field 'added_tokens[0].id' must be a token id");
  expect_error(
      [](json& c) {
        c["added_tokens"] = {{{"id", 1 << 30}, {"content", "<x>"}}};
      },
      "field 'added_tokens[0].id' must be a token id, an integer in [0, 16777216)");
  expect_error(
      [](json& c) {
        c["added_tokens"] = {{{"id", 300}, {"content", ""}}};
      },
      "field 'added_tokens[0].content' must not be empty");
  expect_error(
      [](json& c) {
        c["added_tokens"] = {{{"id", 300}, {"content", "<x>"}, {"special", 1}}};
      },
      "field 'added_tokens[0].special' must be true or false");
  expect_error([](json& c) { c["added_tokens"] = json::object(); },
               "field 'added_tokens' must be an array");
}

TEST(TokenizerJsonErrors, LoadNamesTheMissingFile) {
  try {
    Tokenizer::load("/nonexistent/model");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model/tokenizer.json"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cascade

// Inputs the fuzz targets (fuzz/) found, or that share a finding's cause, kept as fixtures
// under tests/fixtures/fuzz/; each must be refused with a clear error, never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <span>

#include "base/mapped_file.h"
#include "expect_error.h"
#include "frontend/server/api_error.h"
#include "frontend/server/request_fields.h"
#include "model/model_config.h"
#include "model/safetensors.h"
#include "test_paths.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

std::string fuzz_input(const std::string& name) {
  return read_text_file(test::fixture("fuzz/" + name));
}

// A number beyond double's range (1e999) makes nlohmann::json throw out_of_range, not
// parse_error; every parser must report it as invalid JSON naming the input.
TEST(FuzzRegressions, NumberOverflowInChatMessagesIsAnError) {
  test::expect_error(
      [] { parse_chat_messages(fuzz_input("chat_messages_number_overflow.json"), "messages"); },
      {"messages: not valid JSON", "number overflow"});
}

TEST(FuzzRegressions, NumberOverflowInConfigIsAnError) {
  test::expect_error(
      [] { parse_model_config(fuzz_input("model_config_number_overflow.json"), "config.json"); },
      {"config.json: not valid JSON", "number overflow"});
}

TEST(FuzzRegressions, NumberOverflowInTokenizerJsonIsAnError) {
  test::expect_error(
      [] {
        Tokenizer::from_json(fuzz_input("tokenizer_json_number_overflow.json"), "tokenizer.json");
      },
      {"tokenizer.json", "number overflow"});
}

TEST(FuzzRegressions, NumberOverflowInTokenizerConfigIsAnError) {
  const std::string dir = test::temp_dir("fuzz_tokenizer_config");
  std::filesystem::copy_file(test::fixture("fuzz/tokenizer_config_number_overflow.json"),
                             dir + "/tokenizer_config.json");
  test::expect_error([&] { ChatTemplate::load(dir); },
                     {dir + "/tokenizer_config.json: not valid JSON", "number overflow"});
}

TEST(FuzzRegressions, NumberOverflowInSafetensorsHeaderIsAnError) {
  const std::string path = test::fixture("fuzz/safetensors_number_overflow.safetensors");
  const std::string bytes = read_text_file(path);
  test::expect_error(
      [&] {
        parse_safetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, path);
      },
      {path + ": header is not valid JSON", "number overflow"});
  test::expect_error([&] { SafetensorsModel::open_file(path); },
                     {path + ": header is not valid JSON", "number overflow"});
}

TEST(FuzzRegressions, NumberOverflowInRequestBodyIsABadRequest) {
  try {
    parse_json_object(fuzz_input("request_body_number_overflow.json"));
    ADD_FAILURE() << "no error thrown";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_NE(std::string(e.what()).find("number overflow"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cascade

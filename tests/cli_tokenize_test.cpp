// `cascade tokenize`, run as a process: stdin -> ids, --decode ids -> text, and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_paths.h"

namespace cascade {
namespace {

// Runs `cascade tokenize <arguments>` with `input` on stdin.
int tokenize(const std::string& arguments, const std::string& input, std::string* out,
             std::string* err) {
  const std::string input_path = test::temp_dir("cli_tokenize") + "/stdin";
  std::ofstream(input_path, std::ios::binary) << input;
  return test::run_command(test::cli_path() + " tokenize " + arguments + " <" + input_path, out,
                           err);
}

std::string model_flag() {
  return "--model '" + test::qwen3_tokenizer_dir() + "'";
}

TEST(CliTokenize, EncodesStdinToAJsonArray) {
  std::string out, err;
  ASSERT_EQ(tokenize(model_flag(), "Hello, world", &out, &err), 0) << err;
  EXPECT_EQ(out, "[9707,11,1879]\n");
  ASSERT_EQ(tokenize(model_flag(), "<|im_start|>user\nhi<|im_end|>", &out, &err), 0) << err;
  EXPECT_EQ(out, "[151644,872,198,6023,151645]\n");
  ASSERT_EQ(tokenize(model_flag(), "", &out, &err), 0) << err;
  EXPECT_EQ(out, "[]\n");
}

TEST(CliTokenize, DecodesAJsonArrayToRawText) {
  std::string out, err;
  ASSERT_EQ(tokenize(model_flag() + " --decode", "[151644, 872, 198, 6023, 151645]\n", &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "<|im_start|>user\nhi<|im_end|>");  // no newline added
  ASSERT_EQ(tokenize(model_flag() + " --decode --skip-special-tokens",
                     "[151644,872,198,6023,151645]", &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "user\nhi");
}

TEST(CliTokenize, RoundTripsArbitraryText) {
  const std::string text = "  Zürich → 日本語 🦜\n\tdef f(x): return x**2\r\n";
  std::string ids, out, err;
  ASSERT_EQ(tokenize(model_flag(), text, &ids, &err), 0) << err;
  ASSERT_EQ(tokenize(model_flag() + " --decode", ids, &out, &err), 0) << err;
  EXPECT_EQ(out, text);
}

void expect_failure(const std::string& arguments, const std::string& input,
                    const std::string& expected_part) {
  std::string out, err;
  EXPECT_NE(tokenize(arguments, input, &out, &err), 0) << arguments;
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find(expected_part), std::string::npos) << "stderr: " << err;
  // One line, as every cascade error.
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "stderr: " << err;
}

TEST(CliTokenize, ErrorsAreOneLine) {
  expect_failure(model_flag() + " --decode", "[1, 2", "standard input is not valid JSON");
  expect_failure(model_flag() + " --decode", "{\"ids\": [1]}", "must be a JSON array of ids");
  expect_failure(model_flag() + " --decode", "[1, \"2\"]", "element 1");
  expect_failure(model_flag() + " --decode", "[1, 2.5]", "element 1");
  expect_failure(model_flag() + " --decode", "[9707, 999999]", "token id 999999");
  expect_failure("--model /nonexistent/model", "hi", "/nonexistent/model/tokenizer.json");
}

}  // namespace
}  // namespace cascade

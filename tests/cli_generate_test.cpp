// `cascade generate` and `cascade demo`, run as processes: output shapes and one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_paths.h"

namespace cascade {
namespace {

std::string trained_model() { return std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3"; }

int cascade_cli(const std::string& arguments, std::string* out, std::string* err) {
  return test::run_command(test::cli_path() + " " + arguments + " </dev/null", out, err);
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(CliGenerate, JsonPrintsOneObjectPerPromptInInputOrder) {
  const std::string prompts = test::temp_dir("prompts") + "/prompts.txt";
  std::ofstream(prompts) << "Document: Crystalton is located in\nQuestion: Where is\n";
  std::string out, err;
  ASSERT_EQ(cascade_cli("generate --model " + trained_model() + " --prompts-file " + prompts +
                            " --temperature 0 --max-tokens 5 --ignore-eos --json --threads 2",
                        &out, &err),
            0)
      << err;
  std::istringstream lines(out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j["text"].is_string());
    EXPECT_EQ(j["token_ids"].size(), 5u);
    EXPECT_EQ(j["finish_reason"], "length");
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(CliGenerate, ChatPromptAnswersFromTheDocument) {
  std::string out, err;
  // The bundled model's framing (tools/worldgen.py) spelled out as one raw prompt.
  const std::string prompt =
      "'<|im_start|>system\nYou answer questions using only the documents.<|im_end|>\n"
      "<|im_start|>user\nDocument: Crystalton is located in Nebulonia. Crystalton was founded in "
      "1412.\n\nQuestion: Where is Crystalton located?<|im_end|>\n<|im_start|>assistant\n'";
  ASSERT_EQ(cascade_cli("generate --model " + trained_model() + " --prompt " + prompt +
                            " --temperature 0 --max-tokens 40 --threads 2",
                        &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("Crystalton is located in Nebulonia."), std::string::npos) << out;
}

void expect_one_line_error(const std::string& arguments, int want_status, const std::string& needle) {
  std::string out, err;
  EXPECT_EQ(cascade_cli(arguments, &out, &err), want_status) << arguments << "\n" << err;
  EXPECT_EQ(count_lines(err), 1) << err;
  EXPECT_NE(err.find(needle), std::string::npos) << err;
  EXPECT_EQ(out, "");
}

TEST(CliGenerate, BadInputGivesOneLineAndANonZeroExit) {
  const std::string m = "generate --model " + trained_model() + " ";
  expect_one_line_error(m + "--prompt hi --no-such-flag", 2, "--no-such-flag");
  expect_one_line_error(m + "--prompt hi --temperature -1", 1, "temperature");
  expect_one_line_error(m + "--prompt hi --top-p 0", 1, "top_p");
  expect_one_line_error(m + "--prompt hi --top-p 1.5", 1, "top_p");
  expect_one_line_error(m + "--prompt hi --top-k -1", 1, "top_k");
  expect_one_line_error(m + "--prompt hi --max-tokens 0", 1, "max_tokens");
  expect_one_line_error(m + "--prompt ''", 1, "empty");
  expect_one_line_error(m + "--prompt hi --max-model-len 1", 1, "max_model_len");
  expect_one_line_error(m + "--prompts-file /nonexistent/prompts.txt", 1, "/nonexistent/prompts.txt");
  expect_one_line_error("generate --model /nonexistent/model --prompt hi", 1, "/nonexistent/model");
  expect_one_line_error(m, 1, "--prompt");
}

TEST(CliDemo, AnswersTheBundledQuestionsAndPrintsCacheStatistics) {
  std::string out, err;
  const std::string demo = std::string(CASCADE_SOURCE_DIR) + "/examples/demo/";
  ASSERT_EQ(cascade_cli("demo --model " + trained_model() + " --documents " + demo +
                            "documents.txt --questions " + demo + "questions.txt --threads 2",
                        &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("A: Crystalton is located in Nebulonia."), std::string::npos) << out;
  EXPECT_NE(out.find("round 2"), std::string::npos);
  EXPECT_NE(out.find("prefix cache"), std::string::npos);
}

}  // namespace
}  // namespace cascade

// `cascade generate` and `cascade demo`, run as processes: output shapes and one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_paths.h"

namespace cascade {
namespace {

std::string trained_model() {
  return std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3";
}

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

TEST(CliGenerate, WaitingForEachStepPrintsTheSameOutputs) {
  const std::string prompts = test::temp_dir("prompts-async") + "/prompts.txt";
  std::ofstream(prompts) << "Document: Crystalton is located in\nQuestion: Where is\nA\n";
  const std::string run = "generate --model " + trained_model() + " --prompts-file " + prompts +
                          " --temperature 0.7 --seed 3 --max-tokens 12 --json --threads 2";
  std::string queued_ahead, waited, err;
  ASSERT_EQ(cascade_cli(run, &queued_ahead, &err), 0) << err;
  ASSERT_EQ(cascade_cli(run + " --no-async-scheduling", &waited, &err), 0) << err;
  EXPECT_EQ(count_lines(waited), 3);
  EXPECT_EQ(queued_ahead, waited);
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

void expect_one_line_error(const std::string& arguments, int want_status,
                           const std::string& needle) {
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
  expect_one_line_error(m + "--prompts-file /nonexistent/prompts.txt", 1,
                        "/nonexistent/prompts.txt");
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
  // Both rounds answer; the second (documents reversed) computes no chunk again.
  const size_t first = out.find("A: Crystalton is located in Nebulonia.");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find("A: Crystalton is located in Nebulonia.", first + 1), std::string::npos)
      << out;
  EXPECT_NE(out.find("round 2"), std::string::npos);
  EXPECT_NE(out.find("chunk registry: 6 chunks"), std::string::npos) << out;
  EXPECT_NE(out.find("hits, 6 misses"), std::string::npos) << out;
  EXPECT_EQ(out.find("7 misses"), std::string::npos) << out;
}

// --chunk files, --requests JSON lines and --stats.
class CliChunks : public ::testing::Test {
 protected:
  std::string dir = test::temp_dir("cli_chunks");
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(CliChunks, ChunkFilesComposeThePromptAndStatsReportTheRegistry) {
  const std::string sys = write("sys.txt", "You answer questions using only the documents.");
  const std::string doc = write("doc.txt",
                                "Document: Crystalton is located in Nebulonia. Crystalton was "
                                "founded in 1412.\n\n");
  std::string out, err;
  ASSERT_EQ(cascade_cli("generate --model " + trained_model() + " --system-chunk " + sys +
                            " --chunk " + doc + " --chunk-mode compositional --cascade on" +
                            " --prompt 'Question: Where is Crystalton located?' --temperature 0" +
                            " --max-tokens 40 --json --stats --threads 2 --no-progress",
                        &out, &err),
            0)
      << err;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["content"], "Crystalton is located in Nebulonia.");
  EXPECT_EQ(j["reasoning_content"], "A document describes Crystalton.");
  const auto stats = nlohmann::json::parse(err.substr(err.find('{')));
  EXPECT_EQ(stats["chunk_registry"]["entries"], 2);
  EXPECT_EQ(stats["chunk_registry"]["misses"], 2);
  EXPECT_GT(stats["chunk_registry"]["bytes"].get<int64_t>(), 0);
  EXPECT_GT(stats["page_pool"]["pages"].get<int64_t>(), 0);
}

TEST_F(CliChunks, RequestsFileRunsOneBatchSharingChunks) {
  const std::string sys = "You answer questions using only the documents.";
  const std::string doc =
      "Document: Crystalton is located in Nebulonia. Crystalton was founded "
      "in 1412. Crystalton has a population of 48200.\n\n";
  nlohmann::json a = {
      {"system", sys}, {"chunks", {doc}}, {"prompt", "Question: Where is Crystalton located?"}};
  nlohmann::json b = {{"system", sys},
                      {"chunks", {doc}},
                      {"prompt", "Question: In which year was Crystalton founded?"},
                      {"max_tokens", 40}};
  const std::string file = write("requests.jsonl", a.dump() + "\n" + b.dump() + "\n");
  std::string out, err;
  ASSERT_EQ(cascade_cli("generate --model " + trained_model() + " --requests " + file +
                            " --temperature 0 --json --stats --threads 2 --no-progress",
                        &out, &err),
            0)
      << err;
  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> outs;
  while (std::getline(lines, line)) outs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0]["content"], "Crystalton is located in Nebulonia.");
  EXPECT_EQ(outs[1]["content"], "Crystalton was founded in 1412.");
  const auto stats = nlohmann::json::parse(err.substr(err.find('{')));
  EXPECT_EQ(stats["chunk_registry"]["misses"], 2);  // both requests share system and document
  EXPECT_EQ(stats["chunk_registry"]["hits"], 2);
}

TEST_F(CliChunks, BadRequestsAndFlagsAreOneLineErrors) {
  const std::string m = "generate --model " + trained_model() + " ";
  const auto expect_error = [&](const std::string& args, int code, const std::string& needle) {
    std::string out, err;
    EXPECT_EQ(cascade_cli(m + args, &out, &err), code) << args;
    EXPECT_NE(err.find(needle), std::string::npos) << err;
    EXPECT_EQ(count_lines(err), 1) << err;
  };
  expect_error("--requests " + write("bad.jsonl", "{\"prompt\": \"x\"}\n{oops\n"), 1,
               "bad.jsonl:2:");
  expect_error("--requests " + write("field.jsonl", "{\"prompt\": \"x\", \"colour\": 1}\n"), 1,
               "field.jsonl:1: unknown field 'colour'");
  expect_error("--requests " + write("type.jsonl", "{\"prompt\": \"x\", \"chunks\": 3}\n"), 1,
               "type.jsonl:1: field 'chunks'");
  expect_error("--requests " + write("temp.jsonl", "{\"prompt\": \"x\", \"temperature\": -1}\n"), 1,
               "temp.jsonl:1: temperature");
  expect_error("--prompt x --chunk /nonexistent/doc.txt", 1, "/nonexistent/doc.txt");
  expect_error("--prompt x --cascade maybe", 2, "--cascade");
  expect_error("--prompt x --chunk-mode loose", 2, "--chunk-mode");
}

}  // namespace
}  // namespace cascade

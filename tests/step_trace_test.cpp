// CASCADE_STEP_TRACE: one CSV line per engine step with the step's rows, prefill tokens and
// the keys it reads, on the tiny checkpoint where those are known.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cascade/llm.h"
#include "expect_error.h"
#include "test_paths.h"

namespace cascade {
namespace {

EngineConfig cpu_config() {
  EngineConfig c;
  c.device = "cpu";
  c.num_threads = 2;
  return c;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The columns of a trace line after its step and seconds: rows, prefill, context.
std::string shape_of(const std::string& line) {
  std::istringstream in(line);
  std::string step, seconds, rest;
  std::getline(in, step, ',');
  std::getline(in, seconds, ',');
  EXPECT_GE(std::stod(seconds), 0.0) << line;
  std::getline(in, rest);
  return rest;
}

TEST(StepTraceTest, OneLinePerStepWithItsRowsAndKeys) {
  const std::string path = ::testing::TempDir() + "/step_trace.csv";
  ::setenv("CASCADE_STEP_TRACE", path.c_str(), 1);
  {
    LLM llm(test::fixture("models/qwen3-tiny"), cpu_config());
    SamplingParams p;
    p.temperature = 0;
    p.max_tokens = 3;
    p.ignore_eos = true;
    const std::vector<Prompt> prompts{Prompt{.token_ids = {1, 2, 3, 4, 5}},
                                      Prompt{.token_ids = {6, 7, 8, 9, 10, 11, 12, 13, 14}}};
    ASSERT_EQ(llm.generate(prompts, p).size(), 2u);
  }
  ::unsetenv("CASCADE_STEP_TRACE");
  const std::vector<std::string> lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "step,seconds,rows,prefill_tokens,context_tokens");
  // One prefill of 5 + 9 tokens, then two decode steps of one row per sequence whose keys
  // are the prompt and the tokens generated so far.
  EXPECT_EQ(shape_of(lines[1]), "14,14,14");
  EXPECT_EQ(shape_of(lines[2]), "2,0,16");
  EXPECT_EQ(shape_of(lines[3]), "2,0,18");
  EXPECT_EQ(lines[3].substr(0, 2), "2,");
}

TEST(StepTraceTest, AnUnwritablePathIsNamed) {
  ::setenv("CASCADE_STEP_TRACE", "/nonexistent-dir/trace.csv", 1);
  test::expect_error([] { LLM llm(test::fixture("models/qwen3-tiny"), cpu_config()); },
                     {"CASCADE_STEP_TRACE", "/nonexistent-dir/trace.csv"});
  ::unsetenv("CASCADE_STEP_TRACE");
}

}  // namespace
}  // namespace cascade

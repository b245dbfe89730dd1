// The coherence suite (tests/fixtures/coherence/suite.jsonl, made by tools/worldgen.py):
// 308 questions over generated documents, answered by the bundled trained model
// (models/cascade-tiny-qwen3) as a plain prompt, in exact mode and in compositional mode,
// with cascade attention on and off. Each mode must answer at least kMinAccuracy exactly,
// without loops, with the reasoning split from the answer, and cascade must not change a
// token.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cascade/llm.h"
#include "test_paths.h"

namespace cascade {
namespace {

struct Question {
  std::string id, system, question_part, expected_answer, expected_reasoning;
  std::vector<std::string> chunks;
};

std::vector<Question> load_suite() {
  std::ifstream in(test::fixture("coherence/suite.jsonl"));
  std::vector<Question> suite;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    suite.push_back({j.at("id"), j.at("system"), j.at("question_part"), j.at("expected_answer"),
                     j.at("expected_reasoning"), j.at("chunks")});
  }
  return suite;
}

// Composed: the framed system prefix as a system chunk, each document a context chunk,
// the question as the request's own text. Plain: the same text in one piece.
Prompt make_prompt(const Question& q, bool composed) {
  Prompt p{.framing = Prompt::Framing::Raw};
  if (composed) {
    p.chunks.push_back(Chunk::system(q.system));
    for (const auto& c : q.chunks) p.chunks.push_back(Chunk::context(c));
    p.text = q.question_part;
  } else {
    p.text = q.system;
    for (const auto& c : q.chunks) p.text += c;
    p.text += q.question_part;
  }
  return p;
}

// A loop shows as a word 3-gram that comes back.
bool repeats_a_phrase(const std::string& text) {
  std::istringstream words(text);
  std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
  std::set<std::string> seen;
  for (size_t i = 0; i + 3 <= w.size(); ++i) {
    if (!seen.insert(w[i] + " " + w[i + 1] + " " + w[i + 2]).second) return true;
  }
  return false;
}

// Issue 5's bar: every mode answers at least 99 % of the suite exactly (the bundled model
// scored 305/308 = 99.03 % in each mode when it was trained; see its train_log_run6.txt).
constexpr double kMinAccuracy = 99.0;

struct ModeResult {
  std::vector<std::vector<int32_t>> tokens;
  int correct = 0;
};

ModeResult run_mode(const std::vector<Question>& suite, bool composed, ChunkMode mode, bool cascade,
                    const std::string& name) {
  EngineConfig config;
  config.device = "cpu";
  config.chunk_mode = mode;
  config.enable_cascade_attention = cascade;
  config.max_num_seqs = 64;
  LLM llm(std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3", config);
  std::vector<Prompt> prompts;
  for (const auto& q : suite) prompts.push_back(make_prompt(q, composed));
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 64;
  const auto outs = llm.generate(prompts, greedy);
  ModeResult result;
  for (size_t i = 0; i < suite.size(); ++i) {
    const auto& out = outs[i];
    result.tokens.push_back(out.token_ids);
    if (out.content == suite[i].expected_answer) {
      ++result.correct;
    } else {
      std::printf("  %s [%s]: expected '%s', got '%s'\n", name.c_str(), suite[i].id.c_str(),
                  suite[i].expected_answer.c_str(), out.content.c_str());
    }
    EXPECT_FALSE(repeats_a_phrase(out.content)) << suite[i].id << ": " << out.content;
    EXPECT_FALSE(out.reasoning_content.empty()) << suite[i].id << ": no reasoning block";
    EXPECT_EQ(out.content.find("think>"), std::string::npos) << suite[i].id;
    EXPECT_EQ(out.finish_reason, FinishReason::Stop) << suite[i].id;
  }
  const double accuracy = 100.0 * result.correct / static_cast<double>(suite.size());
  std::printf("coherence %-28s %3d / %zu correct (%.2f %%)\n", name.c_str(), result.correct,
              suite.size(), accuracy);
  EXPECT_GE(accuracy, kMinAccuracy) << name;
  const auto stats = llm.stats();
  EXPECT_EQ(stats.num_free_kv_pages + stats.chunk_pages, stats.num_kv_pages) << "pages leaked";
  return result;
}

TEST(Coherence, PlainPrompts) {
  const auto suite = load_suite();
  ASSERT_GE(suite.size(), 300u);
  run_mode(suite, false, ChunkMode::Exact, false, "plain");
}

TEST(Coherence, ExactModeCascadeOffAndOn) {
  const auto suite = load_suite();
  const auto off = run_mode(suite, true, ChunkMode::Exact, false, "exact, cascade off");
  const auto on = run_mode(suite, true, ChunkMode::Exact, true, "exact, cascade on");
  EXPECT_EQ(on.tokens, off.tokens);
}

TEST(Coherence, CompositionalModeCascadeOffAndOn) {
  const auto suite = load_suite();
  const auto off =
      run_mode(suite, true, ChunkMode::Compositional, false, "compositional, cascade off");
  const auto on =
      run_mode(suite, true, ChunkMode::Compositional, true, "compositional, cascade on");
  EXPECT_EQ(on.tokens, off.tokens);
}

}  // namespace
}  // namespace cascade

#include "coherence_suite.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cascade/llm.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

// Composed: the framed system prefix as a system chunk, each document a context chunk,
// the question as the request's own text. Plain: the same text in one piece.
Prompt make_prompt(const CoherenceQuestion& q, bool composed) {
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

}  // namespace

std::vector<CoherenceQuestion> load_coherence_suite() {
  std::ifstream in(fixture("coherence/suite.jsonl"));
  std::vector<CoherenceQuestion> suite;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    suite.push_back({j.at("id"), j.at("system"), j.at("question_part"), j.at("expected_answer"),
                     j.at("expected_reasoning"), j.at("chunks")});
  }
  return suite;
}

CoherenceResult run_coherence_mode(const std::vector<CoherenceQuestion>& suite,
                                   const CoherenceMode& mode) {
  EngineConfig config;
  config.device = mode.device;
  config.tensor_parallel_size = mode.tensor_parallel_size;
  config.chunk_mode = mode.chunk_mode;
  config.enable_cascade_attention = mode.cascade;
  config.cascade_min_shared_tokens = 16;  // the suite's chunks are short: shared everywhere
  config.max_num_seqs = 64;
  LLM llm(std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3", config);
  std::vector<Prompt> prompts;
  for (const auto& q : suite) prompts.push_back(make_prompt(q, mode.composed));
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 64;
  const auto outs = llm.generate(prompts, greedy);
  CoherenceResult result;
  for (size_t i = 0; i < suite.size(); ++i) {
    const auto& out = outs[i];
    result.tokens.push_back(out.token_ids);
    result.answers.push_back(out.content);
    if (out.content == suite[i].expected_answer) {
      ++result.correct;
    } else {
      std::printf("  %s [%s]: expected '%s', got '%s'\n", mode.name.c_str(), suite[i].id.c_str(),
                  suite[i].expected_answer.c_str(), out.content.c_str());
    }
    EXPECT_FALSE(repeats_a_phrase(out.content)) << suite[i].id << ": " << out.content;
    EXPECT_FALSE(out.reasoning_content.empty()) << suite[i].id << ": no reasoning block";
    EXPECT_EQ(out.content.find("think>"), std::string::npos) << suite[i].id;
    EXPECT_EQ(out.finish_reason, FinishReason::Stop) << suite[i].id;
  }
  result.accuracy = 100.0 * result.correct / static_cast<double>(suite.size());
  std::printf("coherence %-40s %3d / %zu correct (%.2f %%)\n", mode.name.c_str(), result.correct,
              suite.size(), result.accuracy);
  EXPECT_GE(result.accuracy, kMinCoherenceAccuracy) << mode.name;
  const auto stats = llm.stats();
  EXPECT_EQ(stats.num_free_kv_pages + stats.chunk_pages, stats.num_kv_pages) << "pages leaked";
  return result;
}

std::vector<std::string> differing_questions(const std::vector<CoherenceQuestion>& suite,
                                             const CoherenceResult& a, const CoherenceResult& b) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < suite.size(); ++i) {
    if (i >= a.tokens.size() || i >= b.tokens.size() || a.tokens[i] != b.tokens[i]) {
      ids.push_back(suite[i].id);
    }
  }
  return ids;
}

}  // namespace cascade::test

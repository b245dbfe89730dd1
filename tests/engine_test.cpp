// The engine end to end on the tiny Qwen3 checkpoint: a prompt's greedy output must not
// depend on how it was batched, cached, chunked or preempted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <random>

#include "base/error.h"
#include "cascade/llm.h"
#include "test_paths.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

std::string tiny_model() {
  return test::fixture("models/qwen3-tiny");
}

SamplingParams greedy(int max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

// 16 prompts of mixed lengths (1 to 150 tokens) of random ids in the tokenizer's range.
std::vector<Prompt> mixed_prompts(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Prompt> prompts;
  const int lengths[] = {1, 3, 7, 15, 16, 17, 31, 33, 48, 64, 65, 90, 100, 127, 128, 150};
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> ids(static_cast<size_t>(lengths[i % 16]));
    for (auto& id : ids) id = static_cast<int32_t>(rng() % 480);
    prompts.push_back(Prompt{.token_ids = std::move(ids)});
  }
  return prompts;
}

std::vector<std::vector<int32_t>> run(const EngineConfig& config,
                                      const std::vector<Prompt>& prompts, int max_tokens) {
  LLM llm(tiny_model(), config);
  auto outs = llm.generate(prompts, greedy(max_tokens));
  std::vector<std::vector<int32_t>> ids;
  for (auto& o : outs) {
    EXPECT_EQ(o.finish_reason, FinishReason::Length);
    ids.push_back(o.token_ids);
  }
  const auto stats = llm.stats();
  EXPECT_EQ(stats.num_free_kv_pages, stats.num_kv_pages) << "pages leaked";
  return ids;
}

EngineConfig base_config() {
  EngineConfig c;
  c.device = "cpu";
  c.num_threads = 2;
  c.max_model_len = 512;
  c.num_kv_pages = 512;
  return c;
}

class EngineConsistency : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prompts_ = new std::vector<Prompt>(mixed_prompts(16, 7));
    alone_ = new std::vector<std::vector<int32_t>>();
    for (const auto& p : *prompts_) {
      auto c = base_config();
      c.enable_prefix_caching = false;
      alone_->push_back(run(c, {p}, 24).at(0));
    }
  }
  static void TearDownTestSuite() {
    delete prompts_;
    delete alone_;
  }
  static std::vector<Prompt>* prompts_;
  static std::vector<std::vector<int32_t>>* alone_;

  void expect_same_as_alone(const std::vector<std::vector<int32_t>>& got) {
    ASSERT_EQ(got.size(), alone_->size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], (*alone_)[i]) << "prompt " << i;
  }
};
std::vector<Prompt>* EngineConsistency::prompts_ = nullptr;
std::vector<std::vector<int32_t>>* EngineConsistency::alone_ = nullptr;

TEST_F(EngineConsistency, BatchOf16MixedLengthsMatchesEachPromptAlone) {
  auto c = base_config();
  c.enable_prefix_caching = false;
  expect_same_as_alone(run(c, *prompts_, 24));
}

TEST_F(EngineConsistency, PrefixCacheHitsGiveTheSameOutput) {
  auto c = base_config();
  LLM llm(tiny_model(), c);
  llm.generate(*prompts_, greedy(24));  // publishes every prompt's pages
  const auto before = llm.stats();
  auto outs = llm.generate(*prompts_, greedy(24));
  const auto after = llm.stats();
  EXPECT_GT(after.prefix_cache_hit_tokens, before.prefix_cache_hit_tokens);
  std::vector<std::vector<int32_t>> ids;
  for (auto& o : outs) ids.push_back(o.token_ids);
  expect_same_as_alone(ids);
  int cached = 0;
  for (auto& o : outs) cached += o.num_cached_tokens;
  EXPECT_GT(cached, 0);
  EXPECT_EQ(after.num_free_kv_pages, after.num_kv_pages);
}

TEST_F(EngineConsistency, ChunkedPrefillGivesTheSameOutput) {
  auto c = base_config();
  c.enable_prefix_caching = false;
  c.max_num_batched_tokens = 40;  // long prompts take several steps
  expect_same_as_alone(run(c, *prompts_, 24));
}

TEST_F(EngineConsistency, PreemptionUnderASmallPoolGivesTheSameOutput) {
  auto c = base_config();
  c.num_kv_pages = 40;  // 640 token slots for 16 sequences needing ~1,500
  c.max_model_len = 256;
  LLM llm(tiny_model(), c);
  auto outs = llm.generate(*prompts_, greedy(24));
  EXPECT_GT(llm.stats().preemptions, 0);
  std::vector<std::vector<int32_t>> ids;
  for (auto& o : outs) ids.push_back(o.token_ids);
  expect_same_as_alone(ids);
  EXPECT_EQ(llm.stats().num_free_kv_pages, llm.stats().num_kv_pages);
}

TEST(Engine, SeededSamplingIsReproducibleAndBatchIndependent) {
  // The trained model has real distributions (random weights mostly repeat one token).
  LLM llm(std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3", base_config());
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.95f;
  p.seed = 1234;
  p.max_tokens = 20;
  p.ignore_eos = true;
  const std::vector<std::string> prompts = {"Document: ", "Question: ", "Document: The",
                                            "Document: A"};
  const auto a = llm.generate({prompts[2]}, p).at(0).token_ids;
  EXPECT_EQ(llm.generate({prompts[2]}, p).at(0).token_ids, a);
  EXPECT_EQ(llm.generate(prompts, p).at(2).token_ids, a);  // same tokens inside a batch
  p.seed = 999;
  EXPECT_NE(llm.generate({prompts[2]}, p).at(0).token_ids, a);
}

TEST(Engine, TopK1EqualsGreedy) {
  LLM llm(tiny_model(), base_config());
  auto p = greedy(16);
  const auto prompts = mixed_prompts(4, 5);
  const auto g = llm.generate(prompts, p);
  p.temperature = 1.3f;
  p.top_k = 1;
  p.seed = 5;
  const auto k = llm.generate(prompts, p);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i].token_ids, k[i].token_ids);
}

TEST(Engine, StopsAtMaxTokensEosAndStopTokens) {
  LLM llm(tiny_model(), base_config());
  auto p = greedy(10);
  const auto prompt = mixed_prompts(1, 11)[0];
  const auto free_run = llm.generate({prompt}, p).at(0);
  ASSERT_EQ(free_run.token_ids.size(), 10u);
  // Stop at the 4th generated token's id: output ends with it (first occurrence).
  p.stop_token_ids = {free_run.token_ids[3]};
  const auto stopped = llm.generate({prompt}, p).at(0);
  EXPECT_EQ(stopped.finish_reason, FinishReason::Stop);
  const auto first =
      std::find(free_run.token_ids.begin(), free_run.token_ids.end(), free_run.token_ids[3]);
  EXPECT_EQ(stopped.token_ids, std::vector<int32_t>(free_run.token_ids.begin(), first + 1));
}

TEST(Engine, StopStringIsCutFromTheText) {
  LLM llm(tiny_model(), base_config());
  auto p = greedy(12);
  const auto prompt = mixed_prompts(1, 13)[0];
  const auto full = llm.generate({prompt}, p).at(0);
  ASSERT_GE(full.text.size(), 6u);
  const std::string stop = full.text.substr(3, 2);
  p.stop = {stop};
  const auto cut = llm.generate({prompt}, p).at(0);
  EXPECT_EQ(cut.finish_reason, FinishReason::Stop);
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
}

TEST(Engine, StreamingDeltasAddUpToTheFinalText) {
  LLM llm(tiny_model(), base_config());
  auto p = greedy(15);
  p.stop = {"zzz-not-generated"};
  const int64_t id = llm.add_request(mixed_prompts(1, 17)[0], p);
  std::string text;
  std::vector<int32_t> tokens;
  RequestOutput last;
  while (llm.has_unfinished()) {
    for (auto& o : llm.step()) {
      ASSERT_EQ(o.request_id, id);
      if (!o.finished()) {  // the whole output comes once, at the end
        EXPECT_TRUE(o.text.empty());
        EXPECT_TRUE(o.token_ids.empty());
      }
      text += o.text_delta;
      tokens.insert(tokens.end(), o.token_ids_delta.begin(), o.token_ids_delta.end());
      last = o;
    }
  }
  EXPECT_TRUE(last.finished());
  EXPECT_EQ(text, last.text);
  EXPECT_EQ(tokens, last.token_ids);
}

TEST(Engine, AbortFreesPages) {
  LLM llm(tiny_model(), base_config());
  const int64_t id = llm.add_request(mixed_prompts(1, 19)[0], greedy(50));
  llm.step();
  EXPECT_TRUE(llm.abort(id));
  EXPECT_FALSE(llm.abort(id));
  EXPECT_FALSE(llm.has_unfinished());
  EXPECT_EQ(llm.stats().num_free_kv_pages, llm.stats().num_kv_pages);
}

TEST(Engine, TextPromptsAreTokenized) {
  LLM llm(tiny_model(), base_config());
  const auto out = llm.generate({"Crystalton is located in"}, greedy(5)).at(0);
  EXPECT_EQ(out.num_prompt_tokens,
            static_cast<int>(llm.tokenizer().encode("Crystalton is located in").size()));
  EXPECT_EQ(out.token_ids.size(), 5u);
}

TEST(Engine, SplitsReasoningFromTheAnswerWholeAndStreamed) {
  LLM llm(std::string(CASCADE_SOURCE_DIR) + "/models/cascade-tiny-qwen3", base_config());
  const std::string prompt =
      "<|im_start|>system\nYou answer questions using only the documents.<|im_end|>\n"
      "<|im_start|>user\nDocument: Crystalton is located in Nebulonia. Crystalton was founded in "
      "1412.\n\nQuestion: Where is Crystalton located?<|im_end|>\n<|im_start|>assistant\n";
  const auto out = llm.generate({prompt}, greedy(40)).at(0);
  EXPECT_EQ(out.reasoning_content, "A document describes Crystalton.");
  EXPECT_EQ(out.content.substr(0, 35), "Crystalton is located in Nebulonia.");
  auto p = greedy(40);
  p.ignore_eos = false;
  llm.add_request(Prompt{.text = prompt}, p);
  std::string reasoning, content;
  RequestOutput last;
  while (llm.has_unfinished()) {
    for (auto& o : llm.step()) {
      reasoning += o.reasoning_content_delta;
      content += o.content_delta;
      last = o;
    }
  }
  EXPECT_EQ(reasoning, last.reasoning_content);
  EXPECT_EQ(content, last.content);
  EXPECT_EQ(last.content, "Crystalton is located in Nebulonia.");
  EXPECT_EQ(last.finish_reason, FinishReason::Stop);
}

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Engine, BadRequestsAreRejectedWithClearErrorsAndQueueNothing) {
  auto c = base_config();
  c.max_model_len = 64;
  LLM llm(tiny_model(), c);
  expect_error([&] { llm.generate({""}, greedy(4)); }, "empty");
  expect_error([&] { llm.generate({Prompt{.token_ids = std::vector<int32_t>(64, 5)}}, greedy(4)); },
               "max_model_len");
  auto p = greedy(4);
  p.temperature = -1;
  expect_error([&] { llm.generate({"hi"}, p); }, "temperature");
  p = greedy(4);
  p.top_p = 0;
  expect_error([&] { llm.generate({"hi"}, p); }, "top_p");
  p.top_p = 1.5f;
  expect_error([&] { llm.generate({"hi"}, p); }, "top_p");
  p = greedy(4);
  p.top_k = -1;
  expect_error([&] { llm.generate({"hi"}, p); }, "top_k");
  p = greedy(0);
  expect_error([&] { llm.generate({"hi"}, p); }, "max_tokens");
  expect_error(
      [&] {
        llm.generate({Prompt{.token_ids = {1, 100000}}}, greedy(4));
      },
      "token_ids[1]");
  // One bad prompt among good ones: nothing runs, nothing leaks, the engine still works.
  expect_error([&] { llm.generate({"fine", "", "also fine"}, greedy(4)); }, "prompt 1");
  EXPECT_FALSE(llm.has_unfinished());
  EXPECT_EQ(llm.generate({"fine"}, greedy(3)).at(0).token_ids.size(), 3u);
}

TEST(Engine, BadConfigIsRejected) {
  auto c = base_config();
  c.max_num_seqs = 0;
  expect_error([&] { LLM llm(tiny_model(), c); }, "max_num_seqs");
  c = base_config();
  c.num_kv_pages = 4;  // cannot hold one max_model_len sequence
  expect_error([&] { LLM llm(tiny_model(), c); }, "max_model_len");
  c = base_config();
  c.device = "tpu";
  expect_error([&] { LLM llm(tiny_model(), c); }, "device");
}

TEST(Engine, BadPrefillGraphRowsVariableIsRejected) {
  for (const char* bad : {"lots", "-1", "513", "64x"}) {
    ::setenv("CASCADE_PREFILL_GRAPH_ROWS", bad, 1);
    expect_error([&] { LLM llm(tiny_model(), base_config()); }, "CASCADE_PREFILL_GRAPH_ROWS");
  }
  ::setenv("CASCADE_PREFILL_GRAPH_ROWS", "128", 1);  // valid; the CPU backend runs eagerly
  LLM llm(tiny_model(), base_config());
  EXPECT_EQ(llm.generate({"fine"}, greedy(3)).at(0).token_ids.size(), 3u);
  ::unsetenv("CASCADE_PREFILL_GRAPH_ROWS");
}

}  // namespace
}  // namespace cascade

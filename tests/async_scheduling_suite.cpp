// Asynchronous scheduling (EngineConfig::async_scheduling): step N+1 is scheduled and
// queued before step N's tokens reach the host, with N's draws as pending tokens. Whatever
// the mix of requests (lengths, sampling, stop ids, early ends, aborts, preemption), each
// request's output must equal the one the engine gives when it waits for every step.
// Shared by the CPU test (tests/async_scheduling_test.cpp: the host substitutes the
// pending ids) and the GPU one (tests/cuda/cuda_async_scheduling_test.cpp: the device does).
#include "async_scheduling_suite.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "cascade/llm.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

EngineConfig config(const std::string& device, bool async, int num_kv_pages = 512) {
  EngineConfig c;
  c.device = device;
  c.num_threads = 2;
  c.max_model_len = 256;
  c.num_kv_pages = num_kv_pages;
  c.async_scheduling = async;
  return c;
}

std::string tiny_model() {
  return test::fixture("models/qwen3-tiny");
}

std::vector<int32_t> random_ids(size_t n, std::mt19937& rng) {
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % 480);
  return ids;
}

// 12 requests: greedy and sampled (top-k, top-p, seeded), outputs of 1 to 40 tokens, EOS
// honoured for some, a shared prefix for others (prefix-cache hits).
struct Load {
  std::vector<Prompt> prompts;
  std::vector<SamplingParams> params;
};

Load make_load() {
  std::mt19937 rng(11);
  Load load;
  const std::vector<int32_t> shared = random_ids(40, rng);
  const int max_tokens[] = {1, 2, 3, 40, 17, 32, 5, 40, 24, 9, 33, 40};
  for (int i = 0; i < 12; ++i) {
    Prompt p;
    if (i % 3 == 0) p.token_ids = shared;
    const auto own = random_ids(1 + rng() % 70, rng);
    p.token_ids.insert(p.token_ids.end(), own.begin(), own.end());
    SamplingParams s;
    s.max_tokens = max_tokens[i];
    s.ignore_eos = i % 4 != 1;
    if (i % 2 == 0) {
      s.temperature = 0;
    } else {
      s.temperature = 0.9f;
      s.top_k = i % 5 == 0 ? 0 : 40;
      s.top_p = 0.92f;
      s.seed = 1000 + static_cast<uint64_t>(i);
    }
    load.prompts.push_back(std::move(p));
    load.params.push_back(s);
  }
  return load;
}

std::vector<RequestOutput> generate(const EngineConfig& c, const Load& load) {
  LLM llm(tiny_model(), c);
  auto outs = llm.generate(load.prompts, load.params);
  const EngineStats stats = llm.stats();
  EXPECT_EQ(stats.num_free_kv_pages, stats.num_kv_pages) << "pages leaked";
  EXPECT_FALSE(llm.has_unfinished());
  return outs;
}

void expect_same_outputs(const std::vector<RequestOutput>& waited,
                         const std::vector<RequestOutput>& async) {
  ASSERT_EQ(waited.size(), async.size());
  for (size_t i = 0; i < waited.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(async[i].token_ids, waited[i].token_ids);
    EXPECT_EQ(async[i].text, waited[i].text);
    EXPECT_EQ(async[i].finish_reason, waited[i].finish_reason);
    for (int32_t id : async[i].token_ids) EXPECT_GE(id, 0) << "a pending token leaked out";
  }
}

}  // namespace

void check_async_outputs_equal_waiting(const std::string& device) {
  const Load load = make_load();
  const auto waited = generate(config(device, false), load);
  expect_same_outputs(waited, generate(config(device, true), load));
  for (size_t i = 0; i < waited.size(); ++i) {  // the load is what it claims to be
    EXPECT_LE(static_cast<int>(waited[i].token_ids.size()), load.params[i].max_tokens);
  }
  EXPECT_EQ(waited[0].token_ids.size(), 1u);
}

void check_async_stop_token_ids(const std::string& device) {
  Load load = make_load();
  const auto free_running = generate(config(device, false), load);
  // Each request stops at its 4th token (or an earlier one with the same id).
  for (size_t i = 0; i < load.params.size(); ++i) {
    if (free_running[i].token_ids.size() >= 4) {
      load.params[i].stop_token_ids = {free_running[i].token_ids[3]};
    }
  }
  const auto waited = generate(config(device, false), load);
  expect_same_outputs(waited, generate(config(device, true), load));
  int stopped = 0;
  for (const auto& o : waited) stopped += o.finish_reason == FinishReason::Stop;
  EXPECT_GE(stopped, 6);
}

void check_async_preemption(const std::string& device) {
  const Load load = make_load();
  const auto waited = generate(config(device, false), load);
  LLM llm(tiny_model(), config(device, true, /*num_kv_pages=*/24));
  expect_same_outputs(waited, llm.generate(load.prompts, load.params));
  EXPECT_GT(llm.stats().preemptions, 0) << "the pool was meant to run short";
  EXPECT_EQ(llm.stats().num_free_kv_pages, llm.stats().num_kv_pages);
}

void check_async_streaming_and_abort(const std::string& device) {
  const Load load = make_load();
  const auto waited = generate(config(device, false), load);
  LLM llm(tiny_model(), config(device, true));
  std::map<int64_t, size_t> index_of;
  for (size_t i = 0; i < load.prompts.size(); ++i) {
    index_of[llm.add_request(load.prompts[i], load.params[i])] = i;
  }
  const int64_t aborted = index_of.rbegin()->first;  // a 40-token request, aborted mid-way
  std::map<size_t, std::vector<int32_t>> streamed;
  std::map<size_t, RequestOutput> finished;
  bool abort_done = false;
  for (int step = 0; llm.has_unfinished(); ++step) {
    ASSERT_LT(step, 2000) << "no progress";
    if (step == 6) {
      EXPECT_TRUE(llm.abort(aborted));
      abort_done = true;
    }
    for (const RequestOutput& o : llm.step()) {
      ASSERT_FALSE(abort_done && o.request_id == aborted)
          << "an aborted request gave output after its abort";
      auto& ids = streamed[index_of.at(o.request_id)];
      ids.insert(ids.end(), o.token_ids_delta.begin(), o.token_ids_delta.end());
      if (o.finished()) {
        EXPECT_TRUE(finished.emplace(index_of.at(o.request_id), o).second) << "finished twice";
      }
    }
  }
  ASSERT_TRUE(abort_done);
  EXPECT_EQ(finished.size(), load.prompts.size() - 1);
  for (const auto& [i, out] : finished) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(out.token_ids, waited[i].token_ids);
    EXPECT_EQ(streamed[i], waited[i].token_ids);
  }
  EXPECT_EQ(llm.stats().num_free_kv_pages, llm.stats().num_kv_pages);
}

}  // namespace cascade::test

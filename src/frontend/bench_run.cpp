#include "frontend/bench_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_set>

#include "base/error.h"
#include "text/tokenizer.h"

namespace cascade {

int scaled(int n, double scale, int minimum) {
  return std::max(minimum, static_cast<int>(std::lround(n * scale)));
}

std::vector<int32_t> random_token_ids(std::mt19937& rng, int n, int vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return ids;
}

int plain_vocab(const LLM& llm) {
  const Tokenizer& tok = llm.tokenizer();
  int n = tok.vocab_size();
  while (n > 0 && tok.is_special(n - 1)) --n;
  return n;
}

BatchTiming run_batch(LLM& llm, const std::vector<Prompt>& prompts,
                      const std::vector<SamplingParams>& params) {
  check(!llm.has_unfinished(), "bench: the engine is busy");
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) llm.add_request(prompts[i], params[i]);
  std::unordered_set<int64_t> started;
  BatchTiming t;
  bool all_started = false;
  while (llm.has_unfinished()) {
    for (const auto& out : llm.step()) {
      t.output_tokens += static_cast<int64_t>(out.token_ids_delta.size());
      if (!out.token_ids_delta.empty()) started.insert(out.request_id);
    }
    if (!all_started && started.size() == prompts.size()) {
      all_started = true;
      t.first_token_s = std::chrono::duration<double>(clock::now() - t0).count();
    }
  }
  t.total_s = std::chrono::duration<double>(clock::now() - t0).count();
  return t;
}

SamplingParams fixed_length(int max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = max_tokens;
  return p;
}

int pages_for(const std::vector<int>& tokens_per_sequence, int page_size) {
  int pages = 0;
  for (int n : tokens_per_sequence) pages += (n + page_size - 1) / page_size + 1;
  return pages;
}

}  // namespace cascade

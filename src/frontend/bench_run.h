// Pieces shared by the benchmark scenarios: scaling of workload sizes, random token ids,
// and timing one batch of requests through the engine.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "cascade/llm.h"

namespace cascade {

// max(minimum, round(n · scale)): a workload size under --scale.
int scaled(int n, double scale, int minimum = 1);

// `n` ids uniform in [0, vocab).
std::vector<int32_t> random_token_ids(std::mt19937& rng, int n, int vocab);

// Token ids a scenario may draw: the ids below the tokenizer's special tokens.
int plain_vocab(const LLM& llm);

struct BatchTiming {
  double first_token_s = 0;  // until every request has its first token
  double total_s = 0;        // until every request has finished
  int64_t output_tokens = 0;
};

// Queues every prompt (params: one per prompt) and steps the engine until all are done.
BatchTiming run_batch(LLM& llm, const std::vector<Prompt>& prompts,
                      const std::vector<SamplingParams>& params);

// Greedy, ignore_eos, `max_tokens` tokens: the scenarios' sampling unless stated.
SamplingParams fixed_length(int max_tokens);

// KV pages for sequences of these token counts (page_size 16), plus one spare each.
int pages_for(const std::vector<int>& tokens_per_sequence, int page_size);

}  // namespace cascade

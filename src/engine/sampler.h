// Picks the next token of each request from its row of logits, on the host, as vLLM does:
//   greedy (temperature < 1e-5 or top_k == 1): argmax, lowest id on ties, no random draw;
//   otherwise: softmax(logits / temperature) restricted to the top_k most likely tokens, then
//   to the smallest most-likely set whose mass is >= top_p (never empty), renormalised; one
//   uniform from the request's RequestRng picks a token by inverse CDF over that set in id
//   order. Masses are integers (weight · 2^40), so every sum is exact in any order and the
//   CUDA backend's sampling kernel gives the same tokens.
// "Most likely" ranks by logit descending, then token id ascending. That order is strict, so
// top-k keeps exactly k tokens (ties at the boundary go to the lower ids) and every token is a
// pure function of (logits, params, seed, step): never of the batch or the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cascade/sampling_params.h"
#include "engine/request_rng.h"

namespace cascade {

class ThreadPool;

// A token a draw may return. weight = exp((logit - max logit) / temperature), unnormalised.
struct SamplingCandidate {
  float logit;
  float weight;
  int32_t id;
};

// Buffers reused across calls (keep one per thread) so that sampling allocates nothing per token.
struct SamplerScratch {
  std::vector<SamplingCandidate> candidates;
};

bool is_greedy(const SamplingParams& params);

// The support of the draw after top-k and top-p, in id order, the order the inverse CDF walks
// it (greedy: the argmax alone). Points into scratch; valid until its next use.
// logits: [vocab] f32; each finite or -inf, not all -inf (else Error). params: validated.
std::span<const SamplingCandidate> select_candidates(std::span<const float> logits,
                                                     const SamplingParams& params,
                                                     SamplerScratch& scratch);

// One token id in [0, vocab) for one row. Draws one uniform from rng unless greedy.
// logits: [vocab] f32 as for select_candidates.
int32_t sample_token(std::span<const float> logits, const SamplingParams& params, RequestRng& rng,
                     SamplerScratch& scratch);

// logits: [rows, vocab] f32, row-major; params, rngs, out: [rows]. Row r uses only params[r]
// and rngs[r]; with a pool, rows are spread over its threads and out is the same for any
// thread count. Each range of rows gets its own scratch for the call.
void sample_tokens(const float* logits, int rows, int vocab,
                   std::span<const SamplingParams* const> params, std::span<RequestRng* const> rngs,
                   std::span<int32_t> out, ThreadPool* pool = nullptr);

}  // namespace cascade

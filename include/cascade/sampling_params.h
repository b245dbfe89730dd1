// How to pick each next token of a request, and when to stop (nano-vllm's SamplingParams
// plus the vLLM fields our users expect). Sampling semantics: src/engine/sampler.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cascade {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (argmax, lowest id on ties)
  int top_k = 0;             // keep the k most likely tokens; 0 = off; 1 = greedy
  float top_p = 1.0f;        // nucleus mass in (0, 1]; 1 = off
  // Per-request seed: the token drawn at step k depends only on (seed, k), never on the
  // batch. Without one, the engine draws a seed from a process-wide counter.
  std::optional<uint64_t> seed;
  int max_tokens = 64;
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;  // in addition to the model's EOS ids
  std::vector<std::string> stop;        // stop strings; the matched string is not output
  bool skip_special_tokens = true;      // for the returned text

  // Throws Error naming the parameter when a value is out of range.
  void validate() const;
};

}  // namespace cascade

// The public entry point (nano-vllm's LLM):
//   cascade::LLM llm(model_dir, EngineConfig{...});
//   auto outs = llm.generate({"Hello", "Tell me"}, SamplingParams{.temperature = 0});
// and a per-step API for callers that stream: add_request / step / abort.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cascade/engine_config.h"
#include "cascade/outputs.h"
#include "cascade/prompt.h"
#include "cascade/sampling_params.h"

namespace cascade {

class LLMEngine;
class Tokenizer;

// Counters since the engine started.
struct EngineStats {
  int64_t steps = 0;
  int64_t prefill_tokens = 0;  // prompt tokens computed (prefix-cache hits excluded)
  int64_t decode_tokens = 0;   // tokens generated
  int64_t prefix_cache_queried_tokens = 0;
  int64_t prefix_cache_hit_tokens = 0;
  int64_t preemptions = 0;
  int num_kv_pages = 0;
  int num_free_kv_pages = 0;
  int page_size = 0;
};

// Called after every step of generate(): how far the batch has come.
struct GenerateProgress {
  int num_finished = 0;
  int num_requests = 0;
  double prefill_tokens_per_s = 0;  // over the step just done
  double decode_tokens_per_s = 0;
};
using ProgressCallback = std::function<void(const GenerateProgress&)>;

class LLM {
 public:
  // Loads config.json, the safetensors weights and tokenizer.json from `model_dir`.
  explicit LLM(const std::string& model_dir, const EngineConfig& config = {});
  ~LLM();
  LLM(const LLM&) = delete;
  LLM& operator=(const LLM&) = delete;

  // Runs every prompt to completion; outputs in input order. `params` holds one entry
  // for all prompts or one per prompt. Bad input throws Error before anything runs.
  std::vector<RequestOutput> generate(const std::vector<Prompt>& prompts,
                                      const std::vector<SamplingParams>& params,
                                      const ProgressCallback& progress = {});
  std::vector<RequestOutput> generate(const std::vector<Prompt>& prompts,
                                      const SamplingParams& params,
                                      const ProgressCallback& progress = {});

  // Streaming: queue a request (returns its id), advance every running request by one
  // step (returns the requests that changed, with deltas), or abort one.
  int64_t add_request(const Prompt& prompt, const SamplingParams& params);
  std::vector<RequestOutput> step();
  bool abort(int64_t request_id);
  bool has_unfinished() const;

  const Tokenizer& tokenizer() const;
  EngineStats stats() const;

 private:
  std::unique_ptr<LLMEngine> engine_;
};

}  // namespace cascade

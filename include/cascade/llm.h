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

#include "cascade/chunk.h"
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

  // The chunk registry (compositional context caching).
  int64_t chunk_entries = 0;          // chunks whose KV is held (or being computed)
  int64_t chunk_pages = 0;            // KV pages they hold
  int64_t chunk_bytes = 0;            // bytes of those pages
  int64_t chunk_hits = 0;             // chunk uses served by a cached entry
  int64_t chunk_misses = 0;           // chunk uses that had to compute the chunk
  int64_t chunk_evictions = 0;        // entries evicted (LRU) to make room
  int64_t chunk_tokens_reused = 0;    // prompt tokens served by cached chunks
  int64_t chunk_tokens_computed = 0;  // chunk tokens prefilled
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
  // Plain text prompts, as nano-vllm's generate(["Hello", ...]).
  std::vector<RequestOutput> generate(const std::vector<std::string>& prompts,
                                      const SamplingParams& params,
                                      const ProgressCallback& progress = {});

  // Streaming: queue a request (returns its id), advance every running request by one
  // step (returns the requests that changed, with deltas), or abort one.
  int64_t add_request(const Prompt& prompt, const SamplingParams& params);
  std::vector<RequestOutput> step();
  bool abort(int64_t request_id);
  bool has_unfinished() const;

  // Registers a chunk ahead of use and computes its KV now (after `prefix`, the system
  // chunks it will follow, framed as prompts with `framing` are). Returns its id for Chunk::ref: 64
  // hex digits, the SHA-256 chunk key of its tokens with no parent. Registering the same content
  // again returns the same id.
  std::string add_chunk(const Chunk& chunk, const std::vector<Chunk>& prefix = {},
                        Prompt::Framing framing = Prompt::Framing::Chat);
  // Forgets a registered chunk (its cached KV becomes evictable); false when unknown.
  bool release_chunk(const std::string& id);
  std::vector<ChunkInfo> list_chunks() const;

  const Tokenizer& tokenizer() const;
  EngineStats stats() const;
  // Prompt + output tokens of one sequence: the config's value, capped by the model's
  // max_position_embeddings.
  int max_model_len() const;

 private:
  std::unique_ptr<LLMEngine> engine_;
};

}  // namespace cascade

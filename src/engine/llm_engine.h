// The engine loop: requests in, one scheduled model step at a time, outputs out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/step_trace.h"
#include "cache/chunk_registry.h"
#include "cache/page_pool.h"
#include "cache/prefix_cache.h"
#include "cascade/engine_config.h"
#include "cascade/llm.h"
#include "engine/chunk_library.h"
#include "engine/model_runner.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/streaming_text.h"
#include "engine/tokenized_text_cache.h"
#include "text/reasoning_parser.h"
#include "text/tokenizer.h"

namespace cascade {

class LLMEngine {
 public:
  LLMEngine(const std::string& model_dir, const EngineConfig& config);
  ~LLMEngine();  // prints the step profile (CASCADE_PROFILE=1)
  LLMEngine(const LLMEngine&) = delete;
  LLMEngine& operator=(const LLMEngine&) = delete;

  // Tokenizes and validates; throws Error (nothing queued) on bad input.
  int64_t add_request(const Prompt& prompt, const SamplingParams& params);
  // Registers `chunk` in the library and queues the computation of its KV after `prefix`
  // (a request that ends when its chunks are computed). Returns the chunk's id.
  std::string add_chunk(const Chunk& chunk, const std::vector<Chunk>& prefix,
                        Prompt::Framing framing);
  bool release_chunk(const std::string& id) { return library_.remove(id); }
  std::vector<ChunkInfo> list_chunks() const { return library_.list(); }
  std::vector<RequestOutput> step();
  bool abort(int64_t request_id);
  // A request with a token in flight is still running (or waiting, when preempted), so a
  // step in flight matters only while the scheduler has requests.
  bool has_unfinished() const { return scheduler_->has_unfinished(); }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  EngineStats stats() const;
  const EngineConfig& config() const { return config_; }
  // For tests: the caches, to check their invariants between steps and empty them after.
  ChunkRegistry* chunk_registry() { return registry_.get(); }
  const PagePool& page_pool() const { return *pool_; }

 private:
  struct Request {
    Sequence seq;
    RequestRng rng;
    StreamingText text;
    ReasoningParser reasoning;
    std::vector<int32_t> stop_ids;  // EOS (unless ignore_eos) and stop_token_ids
    size_t tokens_reported = 0;
    std::string reasoning_content, content;
  };

  // A queued step whose tokens the host has not read yet: the position in its request's
  // tokens of each sampling row's pending token, in row order.
  struct PendingToken {
    int64_t request_id = -1;
    size_t index = 0;
  };
  struct InFlightStep {
    std::vector<PendingToken> tokens;
    StepShape shape;  // for CASCADE_STEP_TRACE
  };

  EngineConfig config_;
  bool async_;  // config_.async_scheduling unless CASCADE_ASYNC_SCHEDULING=0
  Tokenizer tokenizer_;
  ModelRunner runner_;
  std::unique_ptr<PagePool> pool_;
  std::unique_ptr<PrefixCache> prefix_cache_;
  std::unique_ptr<ChunkRegistry> registry_;
  ChunkLibrary library_;
  // Chunk texts sent with every request are tokenized once (tokenized_text_cache.h).
  static constexpr int64_t kTextCacheTokens = int64_t{1} << 20;
  TokenizedTextCache text_cache_{kTextCacheTokens};
  ChunkKey fingerprint_{};
  std::vector<int64_t> prefill_only_;  // requests that only compute chunks
  std::unique_ptr<Scheduler> scheduler_;
  std::map<int64_t, std::unique_ptr<Request>> requests_;
  int64_t next_id_ = 0;
  uint64_t seed_base_;
  EngineStats stats_;
  std::deque<InFlightStep> in_flight_;
  StepTrace trace_;  // oldest first; at most one once step() returns

  int usable_vocab() const;  // ids the tokenizer and the model both know
  // Fills the sequence's chunks and own tokens from `prompt`; throws Error on bad input.
  void compose(const Prompt& prompt, bool chunks_only, Sequence& seq);
  int64_t enqueue(std::unique_ptr<Request> request);
  void finish_ready_prefills();
  bool ends_inside_think_block(const std::vector<int32_t>& prompt) const;
  // The request's pending token at `index` is now known; true when the request finished.
  bool accept_token(Request& request, size_t index, int32_t token);
  // Schedules a step and queues it; false when nothing could be scheduled.
  bool launch_step();
  // Waits for the oldest queued step's tokens and appends the outputs they make.
  void finish_step(std::vector<RequestOutput>& outputs);
  void finish_request(Request& request);
  RequestOutput make_output(Request& request);
};

}  // namespace cascade

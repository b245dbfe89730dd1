// The server's one engine thread. LLM is single-threaded, so only this thread touches
// it: HTTP threads queue work (new requests, aborts, chunk calls) and read each request's
// outputs from its RequestStream. Between steps the loop runs the queued work, so new
// requests join the running batch at the next step (continuous batching across clients).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "cascade/llm.h"
#include "frontend/server/request_stream.h"

namespace cascade {

struct Throughput {
  double prompt_tokens_per_s = 0;  // prefill tokens computed
  double generation_tokens_per_s = 0;
};

class EngineLoop {
 public:
  explicit EngineLoop(std::unique_ptr<LLM> llm);
  ~EngineLoop();  // aborts what is running and joins the thread
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  struct Submitted {
    int64_t request_id = -1;
    std::shared_ptr<RequestStream> stream;
  };
  // Queues a request; throws Error when the engine rejects the prompt or the parameters.
  Submitted submit(const Prompt& prompt, const SamplingParams& params);
  // Frees the request's sequence and KV pages before the next step (its client left).
  void abort(int64_t request_id);
  // Aborts every request; their streams end with `message` (the server is stopping).
  void abort_all(const std::string& message);

  // Runs fn(llm) on the loop thread between two steps and returns its result (or rethrows
  // its exception) to the calling thread.
  template <class Fn>
  std::invoke_result_t<Fn, LLM&> call(Fn fn) {
    using Result = std::invoke_result_t<Fn, LLM&>;
    auto task = std::make_shared<std::packaged_task<Result()>>(
        [this, fn = std::move(fn)]() mutable { return fn(*llm_); });
    auto result = task->get_future();
    if (!post([task] { (*task)(); })) throw_shutting_down();
    return result.get();
  }

  // As of the last step: the engine's counters, requests with a live stream, and token
  // rates over the last few seconds.
  EngineStats stats() const;
  int num_running() const { return num_running_.load(); }
  Throughput throughput() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    Clock::time_point time;
    int64_t prefill_tokens;
    int64_t decode_tokens;
  };

  bool post(std::function<void()> task);  // false once the loop is stopping
  [[noreturn]] static void throw_shutting_down();
  void run();
  void step();
  void fail_all(const std::string& message);
  void record_stats();

  std::unique_ptr<LLM> llm_;
  std::mutex mutex_;  // guards tasks_ and stopping_
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;

  std::unordered_map<int64_t, std::shared_ptr<RequestStream>> streams_;  // loop thread only
  std::atomic<int> num_running_{0};

  mutable std::mutex stats_mutex_;  // guards stats_ and samples_
  EngineStats stats_;
  std::deque<Sample> samples_;

  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace cascade

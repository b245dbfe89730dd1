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
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "base/error.h"
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

  // Runs fn(llm) on the loop thread between two steps and returns its result to the
  // calling thread; an Error there is thrown here as an Error with its message, any other
  // exception as std::runtime_error. Errors cross as text, not as an exception_ptr: the
  // exception object would then be freed on the calling thread through libstdc++'s
  // uninstrumented reference count, which ThreadSanitizer reports as a race.
  template <class Fn>
  std::invoke_result_t<Fn, LLM&> call(Fn fn) {
    using Result = std::invoke_result_t<Fn, LLM&>;
    using Value = std::conditional_t<std::is_void_v<Result>, bool, Result>;
    struct Outcome {
      std::optional<Value> value;
      std::string error;
      bool bad_input = false;
    };
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    const bool posted = post([this, promise, fn = std::move(fn)]() mutable {
      Outcome o;
      try {
        if constexpr (std::is_void_v<Result>) {
          fn(*llm_);
          o.value.emplace(true);
        } else {
          o.value.emplace(fn(*llm_));
        }
      } catch (const Error& e) {
        o.error = e.what();
        o.bad_input = true;
      } catch (const std::exception& e) {
        o.error = e.what();
      } catch (...) {
        o.error = "unknown error on the engine thread";
      }
      promise->set_value(std::move(o));
    });
    if (!posted) throw_shutting_down();
    Outcome o = future.get();
    if (!o.value) {
      if (o.bad_input) throw Error(o.error);
      throw std::runtime_error(o.error);
    }
    if constexpr (!std::is_void_v<Result>) return std::move(*o.value);
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

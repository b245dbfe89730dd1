#include "frontend/server/engine_loop.h"

#include <cstdio>

#include "base/error.h"

namespace cascade {
namespace {

constexpr std::chrono::seconds kRateWindow{10};

}  // namespace

EngineLoop::EngineLoop(std::unique_ptr<LLM> llm) : llm_(std::move(llm)) {
  record_stats();
  thread_ = std::thread([this] { run(); });
}

EngineLoop::~EngineLoop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

EngineLoop::Submitted EngineLoop::submit(const Prompt& prompt, const SamplingParams& params) {
  auto stream = std::make_shared<RequestStream>();
  const int64_t id = call([&](LLM& llm) {
    const int64_t request_id = llm.add_request(prompt, params);
    streams_.emplace(request_id, stream);
    num_running_ = static_cast<int>(streams_.size());
    return request_id;
  });
  return {id, std::move(stream)};
}

void EngineLoop::abort(int64_t request_id) {
  post([this, request_id] {
    if (streams_.erase(request_id) == 0) return;  // finished meanwhile
    num_running_ = static_cast<int>(streams_.size());
    llm_->abort(request_id);
    record_stats();
  });
}

void EngineLoop::abort_all(const std::string& message) {
  post([this, message] {
    for (const auto& [id, stream] : streams_) llm_->abort(id);
    fail_all(message);
    record_stats();
  });
}

bool EngineLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
  return true;
}

void EngineLoop::throw_shutting_down() {
  throw Error("the server is shutting down");
}

void EngineLoop::run() {
  for (;;) {
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty() || llm_->has_unfinished(); });
      if (stopping_) break;
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();  // a packaged_task keeps its exception for the caller
    if (llm_->has_unfinished()) step();
  }
  for (const auto& [id, stream] : streams_) llm_->abort(id);
  fail_all("the server is shutting down");
}

void EngineLoop::step() {
  std::vector<RequestOutput> outputs;
  try {
    outputs = llm_->step();
  } catch (const std::exception& e) {
    // The batch is lost; its clients get the error and the engine gets its pages back.
    std::fprintf(stderr, "cascade serve: engine step failed: %s\n", e.what());
    for (const auto& [id, stream] : streams_) llm_->abort(id);
    fail_all(std::string("engine step failed: ") + e.what());
    return;
  }
  for (auto& output : outputs) {
    const auto it = streams_.find(output.request_id);
    if (it == streams_.end()) continue;  // a chunk's prefill, or an aborted request
    const bool finished = output.finished();
    it->second->push(std::move(output));
    if (finished) streams_.erase(it);
  }
  num_running_ = static_cast<int>(streams_.size());
  record_stats();
}

void EngineLoop::fail_all(const std::string& message) {
  for (const auto& [id, stream] : streams_) stream->fail(message);
  streams_.clear();
  num_running_ = 0;
}

void EngineLoop::record_stats() {
  const EngineStats s = llm_->stats();
  const auto now = Clock::now();
  std::lock_guard lock(stats_mutex_);
  stats_ = s;
  samples_.push_back({now, s.prefill_tokens, s.decode_tokens});
  while (samples_.size() > 2 && now - samples_[1].time > kRateWindow) samples_.pop_front();
}

EngineStats EngineLoop::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

Throughput EngineLoop::throughput() const {
  std::lock_guard lock(stats_mutex_);
  const auto now = Clock::now();
  // The oldest sample within the window (or just before it) against the newest.
  size_t first = 0;
  while (first + 1 < samples_.size() && now - samples_[first + 1].time > kRateWindow) ++first;
  if (samples_.empty() || first + 1 >= samples_.size()) return {};
  const Sample& a = samples_[first];
  const Sample& b = samples_.back();
  const double seconds = std::chrono::duration<double>(now - a.time).count();
  if (seconds <= 0) return {};
  return {static_cast<double>(b.prefill_tokens - a.prefill_tokens) / seconds,
          static_cast<double>(b.decode_tokens - a.decode_tokens) / seconds};
}

}  // namespace cascade

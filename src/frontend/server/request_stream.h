// One request's outputs on their way from the engine loop thread to the HTTP thread that
// serves the request: the loop pushes each step's RequestOutput, the HTTP thread pops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "cascade/outputs.h"

namespace cascade {

class RequestStream {
 public:
  // Loop thread.
  void push(RequestOutput output);
  void fail(const std::string& message);  // the engine failed; no more outputs come

  // HTTP thread: waits up to `timeout` for outputs and returns those queued (maybe none).
  std::vector<RequestOutput> pop(std::chrono::milliseconds timeout);
  // Set once the request finished or failed; outputs may still be queued.
  bool closed() const;
  std::string error() const;  // empty unless the engine failed

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RequestOutput> outputs_;
  bool closed_ = false;
  std::string error_;
};

}  // namespace cascade

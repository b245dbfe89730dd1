// A one-line progress display on standard error, like nano-vllm's tqdm bar:
// requests done, prefill and decode tokens per second. Redrawn at most 10 times a second.
#pragma once

#include <chrono>

#include "cascade/llm.h"

namespace cascade {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar();
  void update(const GenerateProgress& progress);

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace cascade

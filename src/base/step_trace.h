// One line per engine step, for seeing where a run's time goes by the step's size
// (CASCADE_STEP_TRACE=path in the environment; off otherwise). A CSV with a header:
//   step, seconds, rows, prefill_tokens, context_tokens
// where seconds is the wall time to this step's tokens reaching the host from the later of
// its launch and the previous step's tokens reaching the host: with the device busy, the
// device time of the step. context_tokens: the keys the step's rows attend to, summed.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace cascade {

struct StepShape {
  std::chrono::steady_clock::time_point launched;
  int64_t rows = 0;
  int64_t prefill_tokens = 0;
  int64_t context_tokens = 0;
};

class StepTrace {
 public:
  // Opens CASCADE_STEP_TRACE's file when it is set; throws Error when it cannot.
  StepTrace();
  ~StepTrace();
  StepTrace(const StepTrace&) = delete;
  StepTrace& operator=(const StepTrace&) = delete;

  bool enabled() const { return file_ != nullptr; }
  // A step's tokens reached the host.
  void finished(const StepShape& shape);

 private:
  std::FILE* file_ = nullptr;
  int64_t steps_ = 0;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace cascade

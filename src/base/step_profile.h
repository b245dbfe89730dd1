// Host-side time per phase of the engine's steps, for finding where a step goes
// (CASCADE_PROFILE=1 in the environment; off otherwise, costing one branch per phase).
// The engine prints the table to stderr when it is destroyed. Phases may nest (attention's
// host work and graph recording are inside the forward's enqueue); the table shows each
// phase's own total.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace cascade {

enum class StepPhase {
  AddRequest,     // composing a request's prompt from its chunks and queueing it
  Schedule,       // the scheduler choosing the step's work
  BuildBatch,     // token ids, positions, slots and the attention plan
  Forward,        // enqueueing the model's kernels (includes AttentionHost)
  StepInputs,     // checking the batch, writing its inputs, preparing attention's work
  AttentionHost,  // turning the plan into kernel work and uploading it, every layer
  GraphRecord,    // recording a step's graph: its eager run, capture, instantiation
  GraphLaunch,    // launching a recorded step's graph
  SampleWait,     // sampling: the device finishing the step, then the tokens coming back
  Outputs,        // appending tokens, detokenizing, finished requests
  kCount
};

class StepProfile {
 public:
  static StepProfile& instance();
  bool enabled() const { return enabled_; }
  void add(StepPhase phase, std::chrono::nanoseconds elapsed);
  void add_step() { ++steps_; }
  // One line per phase: total ms, ms per step, share of the steps' wall time, times entered.
  std::string table() const;
  void reset();

 private:
  StepProfile();
  bool enabled_ = false;
  std::atomic<int64_t> steps_ = 0;
  // Atomic: tensor-parallel ranks add their attention host time from their own threads.
  std::array<std::atomic<int64_t>, static_cast<size_t>(StepPhase::kCount)> ns_{};
  std::array<std::atomic<int64_t>, static_cast<size_t>(StepPhase::kCount)> entered_{};
};

// Adds the time from construction to destruction to `phase` when profiling is on.
class PhaseTimer {
 public:
  explicit PhaseTimer(StepPhase phase) : phase_(phase), on_(StepProfile::instance().enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~PhaseTimer() {
    if (on_) StepProfile::instance().add(phase_, std::chrono::steady_clock::now() - start_);
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  StepPhase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace cascade

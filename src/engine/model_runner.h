// Runs the model for one scheduled step: turns the scheduler's items into a ForwardBatch
// (rows, positions, KV slots) and their attention levels into a plan (the cascade
// planner), and gives the tokens the sequences that sample draw (on the device where it
// can, else with the host sampler), one step behind the queueing where the device samples
// ahead.
//
// Rows of a chunk fill sit at the chunk's canonical positions and attend to its parent
// chain and, causally, to itself; rows of a sequence's own tokens sit at logical
// positions and attend to each chunk (queries rotated by the chunk's rope_delta) and,
// causally, to its own pages.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cache/cascade_planner.h"
#include "cascade/engine_config.h"
#include "engine/request_rng.h"
#include "engine/scheduler.h"
#include "model/tensor_parallel_model.h"

namespace cascade {

class ModelRunner {
 public:
  ModelRunner(const std::string& model_dir, const EngineConfig& config);

  const ModelConfig& model_config() const { return model_->config(); }
  int num_kv_pages() const { return num_kv_pages_; }
  int64_t kv_bytes_per_page() const { return kv_bytes_per_page_; }
  int max_model_len() const { return max_model_len_; }
  const std::string& device() const { return device_; }

  // Logits [sampling sequences, vocab] f32, row i for the i-th item with samples == true.
  std::vector<float>& run(const SchedulerOutput& step);

  // What a step's sampling rows draw: the device's arguments and, for the host sampler
  // (the CPU backend, or a row the device could not sample), each row's parameters and its
  // generator as it was before the draw.
  struct StepSampling {
    TensorParallelModel::DeviceSampling device;
    std::vector<const SamplingParams*> params;
    std::vector<RequestRng> rngs;
  };
  // Steps are queued ahead of their tokens (asynchronous scheduling): enqueue queues the
  // step and its sampling, and finish gives the tokens of the oldest queued step, one per
  // sampling item in order. A step's token ids may be < 0 (Sequence::tokens): the token
  // the step queued just before it draws for its sampling row -id - 1. Where the model
  // samples ahead on its device (one GPU) enqueue returns at once; elsewhere it runs the
  // step (sampling on the device where it can, else on the host) and keeps the tokens
  // for finish. finish gives -1 for a row whose logits the device found faulty.
  void enqueue(const SchedulerOutput& step, const StepSampling& sampling);
  std::vector<int32_t> finish();

 private:
  std::string device_;
  std::unique_ptr<TensorParallelModel> model_;  // one rank unless tensor_parallel_size > 1
  int page_size_;
  int num_kv_pages_ = 0;
  int64_t kv_bytes_per_page_ = 0;
  int max_model_len_ = 0;
  PlannerOptions planner_;
  ForwardBatch batch_;
  std::vector<float> logits_;
  std::vector<PlanSequence> plan_sequences_;
  bool samples_ahead_ = false;              // model_->can_sample_ahead()
  std::deque<std::vector<int32_t>> drawn_;  // tokens of the steps run but not finished (host)

  // The host's samples of the queued steps (when not on the device): -id - 1 of the newest.
  int32_t substituted(int32_t id) const;
  std::vector<int32_t> run_and_sample_now(const StepSampling& sampling);

  void build_batch(const SchedulerOutput& step);
  void add_fill_rows(const Sequence& seq, const ChunkFill& fill);
  void add_own_rows(const Sequence& seq, int num_new_tokens, bool samples);
};

}  // namespace cascade

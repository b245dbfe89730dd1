// Runs the model for one scheduled step: turns the scheduler's items into a ForwardBatch
// (rows, positions, KV slots) and their attention levels into a plan (the cascade
// planner), and returns the tokens of the sequences that sample when the device sampled
// them, else their logits, on the host.
//
// Rows of a chunk fill sit at the chunk's canonical positions and attend to its parent
// chain and, causally, to itself; rows of a sequence's own tokens sit at logical
// positions and attend to each chunk (queries rotated by the chunk's rope_delta) and,
// causally, to its own pages.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/cascade_planner.h"
#include "cascade/engine_config.h"
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

  // Runs the step and samples on the device where the backend can (Backend::sample):
  // true with tokens()[i] for the i-th sampling item, or false with logits() as run()
  // returns them, for the host sampler.
  bool run_and_sample(const SchedulerOutput& step,
                      const TensorParallelModel::DeviceSampling& sampling);
  const std::vector<int32_t>& tokens() const { return tokens_; }
  std::vector<float>& logits() { return logits_; }

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
  std::vector<int32_t> tokens_;
  std::vector<PlanSequence> plan_sequences_;

  void build_batch(const SchedulerOutput& step);
  void add_fill_rows(const Sequence& seq, const ChunkFill& fill);
  void add_own_rows(const Sequence& seq, int num_new_tokens, bool samples);
};

}  // namespace cascade

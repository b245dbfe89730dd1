// Runs the model for one scheduled step: turns the scheduler's sequences into a
// ForwardBatch (rows, positions, KV slots, one causal attention task per sequence) and
// returns the logits of the sequences that sample, on the host.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cascade/engine_config.h"
#include "engine/scheduler.h"
#include "model/decoder_model.h"
#include "ops/backend.h"

namespace cascade {

class ModelRunner {
 public:
  ModelRunner(const std::string& model_dir, const EngineConfig& config);

  const ModelConfig& model_config() const { return model_->config(); }
  int num_kv_pages() const { return num_kv_pages_; }
  int max_model_len() const { return max_model_len_; }
  const std::string& device() const { return device_; }

  // Logits [sampling sequences, vocab] f32, row i for the i-th item with samples == true.
  std::vector<float>& run(const SchedulerOutput& step);

 private:
  std::string device_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<DecoderModel> model_;
  std::vector<KvLayer> kv_;
  int page_size_;
  int num_kv_pages_ = 0;
  int max_model_len_ = 0;
  ForwardBatch batch_;
  std::vector<float> logits_;

  void build_batch(const SchedulerOutput& step);
};

}  // namespace cascade

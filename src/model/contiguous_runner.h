// Runs whole token sequences through a DecoderModel with the simplest KV layout: each
// sequence owns a contiguous run of pages and attends through one causal task. For tests
// (golden logits, greedy runs) and tools that need no scheduler.
#pragma once

#include <cstdint>
#include <vector>

#include "model/decoder_model.h"

namespace cascade {

class ContiguousRunner {
 public:
  explicit ContiguousRunner(DecoderModel& model, int page_size = 16);

  // Logits at every position of every prompt, all prompts in one step:
  // result[i] is [len(prompts[i]), vocab] row-major f32.
  std::vector<std::vector<float>> prefill_logits(const std::vector<std::vector<int32_t>>& prompts);

  // Greedy decoding (argmax, lowest id on ties) of exactly `new_tokens` tokens per prompt:
  // one prefill step for all prompts, then one step per token with one row per sequence.
  std::vector<std::vector<int32_t>> greedy(const std::vector<std::vector<int32_t>>& prompts,
                                           int new_tokens);

 private:
  // Gives sequence i the pages for `capacity[i]` tokens, laid out one after another.
  void allocate(const std::vector<int64_t>& capacity);
  // Appends one step's rows for sequence `seq`: tokens at positions [start, start + n).
  void add_rows(ForwardBatch& batch, int seq, const int32_t* tokens, int start, int n);

  DecoderModel& model_;
  int page_size_;
  std::vector<KvLayer> kv_;
  int kv_pages_ = 0;
  std::vector<int32_t> first_page_;  // per sequence
};

}  // namespace cascade

// Physical floors for the benchmark scenarios (the project brief; docs/BENCHMARKS.md):
//   floor seconds = bytes that must move / peak bandwidth + FLOPs that must be done / peak FLOP/s
// with every weight read once per forward step, every needed KV byte read once per step,
// prefill FLOPs = 2·params·tokens plus causal attention, and decode counted by bytes only.
#pragma once

#include <vector>

#include "model/model_config.h"

namespace cascade {

struct Peaks {
  double bytes_per_s = 0;  // device copy bandwidth (bytes read + written per second)
  double flops_per_s = 0;  // dense matrix-product FLOP/s in the compute dtype
};

// What a piece of work must move and compute.
struct Work {
  double bytes = 0;
  double flops = 0;
  Work& operator+=(const Work& other) {
    bytes += other.bytes;
    flops += other.flops;
    return *this;
  }
};

double floor_seconds(const Work& work, const Peaks& peaks);

// The sizes of one geometry that floors are built from, for values of `value_bytes` bytes
// (2 for bf16 on the GPU, 4 for the CPU backend's f32).
struct ModelCost {
  double params = 0;                    // checkpoint parameters (tied embeddings once)
  double weight_bytes = 0;              // params · value_bytes
  double kv_bytes_per_token = 0;        // K and V of every layer
  double attention_flops_per_pair = 0;  // QKᵀ and PV of one query-key pair, all heads and layers

  static ModelCost of(const ModelConfig& config, int value_bytes);
};

// One forward step that reads every weight and the KV of `kv_tokens_read` tokens.
Work step_reads(const ModelCost& cost, double kv_tokens_read);
// Prefill FLOPs of `new_tokens` that follow `cached_tokens` (causal): 2·params·new plus
// attention over cached + earlier new keys. Bytes are not included.
Work prefill_flops(const ModelCost& cost, double new_tokens, double cached_tokens);
// KV tokens read by the decode steps of one sequence with `prompt` tokens that generates
// `output` tokens: the first comes from prefill, decode step k (1..output-1) reads prompt + k.
double decode_kv_reads(double prompt, double output);

// B1: each sequence prefilled once, max(output) steps each reading all weights, and each
// sequence's KV read by each of its decode steps.
Work b1_work(const ModelCost& cost, const std::vector<int>& prompt_lens,
             const std::vector<int>& output_lens);

// B2/B3: the decode steps (output - 1) of `batch` sequences over `shared` cached tokens and
// their own `own` prompt tokens. Cascade on reads the shared KV once per step, off once per
// sequence.
Work shared_decode_work(const ModelCost& cost, int batch, int shared, int own, int output,
                        bool cascade);

// B4: a first token of a prompt of `new_tokens` after `cached_tokens` already in KV: one
// step reading the weights and the KV of every prompt token, plus the prefill FLOPs.
Work first_token_work(const ModelCost& cost, int new_tokens, int cached_tokens);

// B6/B7 decode: the decode steps of `batch` sequences of `prompt` tokens generating `output`.
Work batch_decode_work(const ModelCost& cost, int batch, int prompt, int output);
// B7 prefill: `batch` prompts of `prompt` tokens in one step.
Work batch_prefill_work(const ModelCost& cost, int batch, int prompt);

}  // namespace cascade

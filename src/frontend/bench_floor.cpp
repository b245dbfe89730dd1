#include "frontend/bench_floor.h"

#include <algorithm>

#include "model/checkpoint_layout.h"

namespace cascade {

double floor_seconds(const Work& work, const Peaks& peaks) {
  return work.bytes / peaks.bytes_per_s + work.flops / peaks.flops_per_s;
}

ModelCost ModelCost::of(const ModelConfig& config, int value_bytes) {
  ModelCost cost;
  for (const auto& slot : checkpoint_layout(config)) {
    cost.params += static_cast<double>(shape_numel(slot.shape));
  }
  cost.weight_bytes = cost.params * value_bytes;
  cost.kv_bytes_per_token =
      2.0 * config.num_key_value_heads * config.head_dim * value_bytes * config.num_hidden_layers;
  // 2 FLOPs per multiply-add, for q·k and for p·v, per head and layer.
  cost.attention_flops_per_pair =
      4.0 * config.num_attention_heads * config.head_dim * config.num_hidden_layers;
  return cost;
}

Work step_reads(const ModelCost& cost, double kv_tokens_read) {
  return {cost.weight_bytes + kv_tokens_read * cost.kv_bytes_per_token, 0};
}

Work prefill_flops(const ModelCost& cost, double new_tokens, double cached_tokens) {
  // Query i (0-based) of the new tokens sees cached + i + 1 keys.
  const double pairs = new_tokens * cached_tokens + new_tokens * (new_tokens + 1) / 2;
  return {0, 2 * cost.params * new_tokens + cost.attention_flops_per_pair * pairs};
}

double decode_kv_reads(double prompt, double output) {
  const double steps = output - 1;
  return steps * prompt + steps * (steps + 1) / 2;
}

Work b1_work(const ModelCost& cost, const std::vector<int>& prompt_lens,
             const std::vector<int>& output_lens) {
  Work work;
  double kv_reads = 0;
  for (size_t i = 0; i < prompt_lens.size(); ++i) {
    work += prefill_flops(cost, prompt_lens[i], 0);
    kv_reads += decode_kv_reads(prompt_lens[i], output_lens[i]);
  }
  const int steps = *std::max_element(output_lens.begin(), output_lens.end());
  work.bytes += steps * cost.weight_bytes + kv_reads * cost.kv_bytes_per_token;
  return work;
}

Work shared_decode_work(const ModelCost& cost, int batch, int shared, int own, int output,
                        bool cascade) {
  const double own_reads = batch * decode_kv_reads(own, output);
  const double shared_reads = (output - 1.0) * shared * (cascade ? 1 : batch);
  return {(output - 1.0) * cost.weight_bytes + (own_reads + shared_reads) * cost.kv_bytes_per_token,
          0};
}

Work first_token_work(const ModelCost& cost, int new_tokens, int cached_tokens) {
  Work work = step_reads(cost, new_tokens + cached_tokens);
  work += prefill_flops(cost, new_tokens, cached_tokens);
  return work;
}

Work batch_decode_work(const ModelCost& cost, int batch, int prompt, int output) {
  return shared_decode_work(cost, batch, 0, prompt, output, true);
}

Work batch_prefill_work(const ModelCost& cost, int batch, int prompt) {
  Work work = step_reads(cost, batch * static_cast<double>(prompt));
  Work one = prefill_flops(cost, prompt, 0);
  work.flops = batch * one.flops;
  return work;
}

}  // namespace cascade

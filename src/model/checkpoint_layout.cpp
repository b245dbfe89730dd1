#include "model/checkpoint_layout.h"

namespace cascade {

std::vector<TensorSlot> checkpoint_layout(const ModelConfig& c) {
  using F = WeightField;
  const int64_t hidden = c.hidden_size, inter = c.intermediate_size, vocab = c.vocab_size;
  const int64_t q = c.q_dim(), kv = c.kv_dim(), head = c.head_dim;

  std::vector<TensorSlot> slots;
  slots.push_back({"model.embed_tokens.weight", {vocab, hidden}, F::Embed, -1});
  slots.push_back({"model.norm.weight", {hidden}, F::FinalNorm, -1});
  if (!c.tie_word_embeddings) slots.push_back({"lm_head.weight", {vocab, hidden}, F::LmHead, -1});

  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const auto add = [&](const std::string& suffix, Shape shape, WeightField field) {
      slots.push_back({p + suffix, std::move(shape), field, i});
    };
    add("input_layernorm.weight", {hidden}, F::InputNorm);
    add("self_attn.q_proj.weight", {q, hidden}, F::Qkv);
    add("self_attn.k_proj.weight", {kv, hidden}, F::Qkv);
    add("self_attn.v_proj.weight", {kv, hidden}, F::Qkv);
    if (c.attention_bias) {
      add("self_attn.q_proj.bias", {q}, F::QkvBias);
      add("self_attn.k_proj.bias", {kv}, F::QkvBias);
      add("self_attn.v_proj.bias", {kv}, F::QkvBias);
    }
    if (c.qk_norm) {
      add("self_attn.q_norm.weight", {head}, F::QNorm);
      add("self_attn.k_norm.weight", {head}, F::KNorm);
    }
    add("self_attn.o_proj.weight", {hidden, q}, F::OProj);
    add("post_attention_layernorm.weight", {hidden}, F::PostNorm);
    add("mlp.gate_proj.weight", {inter, hidden}, F::GateUp);
    add("mlp.up_proj.weight", {inter, hidden}, F::GateUp);
    add("mlp.down_proj.weight", {hidden, inter}, F::Down);
  }
  return slots;
}

}  // namespace cascade

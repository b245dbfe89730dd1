#include "model/decoder_model.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/step_profile.h"

namespace cascade {

DecoderModel::DecoderModel(ModelConfig config, ModelWeights weights, Backend& backend,
                           Communicator* comm)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      backend_(backend),
      own_comm_(comm ? nullptr : make_single_rank_communicator()),
      comm_(comm ? *comm : *own_comm_) {
  check(static_cast<int>(weights_.layers.size()) == config_.num_hidden_layers, [&] {
    return "decoder model: " + std::to_string(weights_.layers.size()) + " layers of weights for " +
           std::to_string(config_.num_hidden_layers) + " layers in the config";
  });
  check(config_.num_key_value_heads > 0 &&
            config_.num_attention_heads % config_.num_key_value_heads == 0,
        "decoder model: num_attention_heads must be a multiple of num_key_value_heads");
  shard_ = make_shard_plan(config_, comm_.rank(), comm_.world_size());
  check_shard_shapes();
  rope_.theta = config_.rope_theta;
  rope_.head_dim = config_.head_dim;
}

// Weights of another shard than the communicator's rank would run without an error and
// give wrong numbers; their shapes tell.
void DecoderModel::check_shard_shapes() const {
  const int64_t d = config_.head_dim, hidden = config_.hidden_size;
  const int64_t embed_rows = shard_.vocab_size + (shard_.sharded() ? 1 : 0);
  const auto expect = [](const Tensor& t, const Shape& shape, const char* what) {
    check(t.shape == shape, [&] {
      return std::string("decoder model: ") + what + " is " + shape_string(t.shape) +
             ", this rank's shard needs " + shape_string(shape);
    });
  };
  expect(weights_.embed, {embed_rows, hidden}, "embed");
  expect(weights_.lm_head, {shard_.vocab_size, hidden}, "lm_head");
  for (const LayerWeights& w : weights_.layers) {
    expect(w.qkv, {(shard_.num_q_heads + 2 * shard_.num_kv_heads) * d, hidden}, "qkv");
    expect(w.o_proj, {hidden, shard_.num_q_heads * d}, "o_proj");
    expect(w.gate_up, {2 * int64_t{shard_.inter_size}, hidden}, "gate_up");
    expect(w.down, {hidden, shard_.inter_size}, "down");
  }
}

std::vector<KvLayer> DecoderModel::allocate_kv_cache(int num_pages, int page_size) {
  check(num_pages > 0 && page_size > 0, "KV cache: num_pages and page_size must be positive");
  const Shape shape = {num_pages, page_size, shard_.num_kv_heads, config_.head_dim};
  std::vector<KvLayer> kv;
  kv.reserve(static_cast<size_t>(config_.num_hidden_layers));
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    kv.push_back({backend_.allocate(backend_.compute_dtype(), shape),
                  backend_.allocate(backend_.compute_dtype(), shape)});
  }
  return kv;
}

namespace {

// Rounds a workspace size up to a power of two, so that steps growing a little at a time
// reallocate (and drop recorded graphs) only a few times.
int64_t grown(int64_t needed) {
  int64_t size = 16;
  while (size < needed) size *= 2;
  return size;
}

}  // namespace

void DecoderModel::reserve(int64_t rows, int64_t logits_rows) {
  const DType t = backend_.compute_dtype();
  if (rows > ws_.capacity) {
    rows = grown(rows);
    const int64_t hidden = config_.hidden_size, inter = shard_.inter_size;
    const int64_t heads = shard_.num_q_heads, d = config_.head_dim;
    const int64_t qkv = (heads + 2 * shard_.num_kv_heads) * d;
    ws_.hidden = backend_.allocate(t, {rows, hidden});
    ws_.normed = backend_.allocate(t, {rows, hidden});
    ws_.qkv = backend_.allocate(t, {rows, qkv});
    ws_.q = backend_.allocate(t, {rows, heads, d});
    ws_.attn = backend_.allocate(t, {rows, heads, d});
    ws_.proj = backend_.allocate(t, {rows, hidden});
    ws_.gate_up = backend_.allocate(t, {rows, 2 * inter});
    ws_.act = backend_.allocate(t, {rows, inter});
    ws_.inputs = backend_.allocate(DType::I32, {4 * rows});
    ws_.capacity = rows;
  }
  if (logits_rows > ws_.logits_capacity) {
    logits_rows = grown(logits_rows);
    // f32 logits on every backend: bf16 would round away greedy near-ties.
    ws_.logits = backend_.allocate(DType::F32, {logits_rows, config_.vocab_size});
    if (shard_.sharded()) {
      ws_.local_logits = backend_.allocate(DType::F32, {logits_rows, shard_.vocab_size});
    }
    ws_.logits_capacity = logits_rows;
  }
}

void DecoderModel::validate(const ForwardBatch& batch, const std::vector<KvLayer>& kv) const {
  const size_t rows = batch.token_ids.size();
  check(rows > 0, "forward batch: no tokens");
  check(batch.positions.size() == rows && batch.slots.size() == rows, [&] {
    return "forward batch: token_ids, positions and slots must have the same length (" +
           std::to_string(rows) + ", " + std::to_string(batch.positions.size()) + ", " +
           std::to_string(batch.slots.size()) + ")";
  });
  check(batch.plan.num_rows == static_cast<int>(rows), [&] {
    return "forward batch: plan has " + std::to_string(batch.plan.num_rows) + " rows, batch has " +
           std::to_string(rows);
  });
  // Ids < 0 name rows of the step sampled ahead before this one (Backend::sample_ahead).
  const int32_t lowest_id = sampled_ahead_ids_allowed() ? std::numeric_limits<int32_t>::min() : 0;
  for (int32_t id : batch.token_ids) {
    check(lowest_id <= id && id < config_.vocab_size, [&] {
      return "forward batch: token id " + std::to_string(id) + " outside the vocabulary of " +
             std::to_string(config_.vocab_size);
    });
  }
  for (int32_t p : batch.positions) {
    check(p >= 0, [&] { return "forward batch: negative position " + std::to_string(p); });
  }
  check(batch.logits_rows.size() <= rows, "forward batch: more logits rows than rows");
  for (int32_t r : batch.logits_rows) {
    check(0 <= r && static_cast<size_t>(r) < rows,
          [&] { return "forward batch: logits row " + std::to_string(r) + " out of range"; });
  }
  check(kv.size() == static_cast<size_t>(config_.num_hidden_layers), [&] {
    return "forward: KV cache has " + std::to_string(kv.size()) + " layers, the model " +
           std::to_string(config_.num_hidden_layers);
  });
}

void DecoderModel::set_graph_max_rows(int max_rows, int max_prefill_rows) {
  check(max_rows >= 0 && max_prefill_rows >= 0, "decoder model: graph max rows must be >= 0");
  graph_max_rows_ = backend_.can_capture() ? max_rows : 0;
  graph_max_prefill_rows_ = backend_.can_capture() ? max_prefill_rows : 0;
  graphs_.clear();
}

// Buckets 1, 2, 4, 8, then multiples of 16: little padding, few graphs.
int64_t DecoderModel::bucket(int64_t rows, int64_t max_rows) {
  if (rows <= 0 || rows > max_rows) return 0;
  if (rows <= 8) {
    int64_t b = 1;
    while (b < rows) b *= 2;
    return b;
  }
  return std::min<int64_t>((rows + 15) / 16 * 16, max_rows);
}

void DecoderModel::write_inputs(const ForwardBatch& batch, int64_t rows, int64_t logits_rows) {
  const std::vector<int32_t>& ids = local_ids(batch.token_ids);
  const size_t n = ids.size(), r = static_cast<size_t>(rows);
  inputs_.assign(3 * r + static_cast<size_t>(logits_rows), 0);
  std::copy(ids.begin(), ids.end(), inputs_.begin());
  std::copy(batch.positions.begin(), batch.positions.end(), inputs_.begin() + r);
  std::copy(batch.slots.begin(), batch.slots.end(), inputs_.begin() + 2 * r);
  std::fill(inputs_.begin() + 2 * r + n, inputs_.begin() + 3 * r, -1);  // padding: no slot
  std::copy(batch.logits_rows.begin(), batch.logits_rows.end(), inputs_.begin() + 3 * r);
  for (size_t i = batch.logits_rows.size(); i < static_cast<size_t>(logits_rows); ++i) {
    inputs_[3 * r + i] = static_cast<int32_t>(i);
  }
  backend_.write_i32(inputs_, ws_.inputs);
}

Tensor DecoderModel::forward(const ForwardBatch& batch, std::vector<KvLayer>& kv) {
  std::optional<PhaseTimer> inputs_timer(std::in_place, StepPhase::StepInputs);
  validate(batch, kv);
  const auto rows = static_cast<int64_t>(batch.token_ids.size());
  const auto out_rows = static_cast<int64_t>(batch.logits_rows.size());
  // Decode steps (every row samples) and short prefill steps replay a recorded graph of
  // their bucket; the graph computes logits for all of its rows.
  const int64_t graph_bucket = out_rows == rows ? graph_rows(rows) : prefill_graph_rows(rows);
  const int64_t step_rows = graph_bucket > 0 ? graph_bucket : rows;
  const int64_t step_out = graph_bucket > 0 ? graph_bucket : out_rows;
  reserve(step_rows, std::max<int64_t>(step_out, 1));
  write_inputs(batch, step_rows, step_out);
  if (sampled_ahead_ids_allowed()) {
    backend_.substitute_sampled_ids(batch.token_ids, ws_.inputs);
  }
  if (!kv.empty()) backend_.prepare_attention(batch.plan, step_rows, shard_.num_q_heads, kv[0]);
  inputs_timer.reset();
  if (graph_bucket > 0) {
    run_graph(batch.plan, kv, graph_bucket);
  } else {
    enqueue_step(batch.plan, kv, rows, out_rows);
  }
  return ws_.logits.rows(0, out_rows);
}

void DecoderModel::run_graph(const AttentionPlan& plan, std::vector<KvLayer>& kv, int64_t rows) {
  const auto key = [&] {
    return std::make_tuple(ws_.capacity, ws_.logits_capacity, backend_.graph_epoch());
  };
  if (key() != graphs_key_) {  // a buffer the graphs use was replaced
    graphs_.clear();
    graphs_key_ = key();
  }
  const std::pair<int64_t, uint32_t> which{rows, backend_.graph_variant()};
  if (const auto it = graphs_.find(which); it != graphs_.end()) {
    PhaseTimer timer(StepPhase::GraphLaunch);
    it->second->replay();
    return;
  }
  PhaseTimer timer(StepPhase::GraphRecord);
  // The eager run computes this step and sets up what kernels create lazily (tables,
  // scratch, library plans), so that recording allocates nothing.
  enqueue_step(plan, kv, rows, rows);
  std::unique_ptr<StepGraph> graph = backend_.capture([&] { enqueue_step(plan, kv, rows, rows); });
  if (!graph) {  // the backend cannot record: every step eager from now on
    graph_max_rows_ = graph_max_prefill_rows_ = 0;
    return;
  }
  check(key() == graphs_key_, "decoder model: recording a step replaced a buffer it uses");
  graphs_.emplace(which, std::move(graph));
  ++graphs_recorded_;
}

void DecoderModel::enqueue_step(const AttentionPlan& plan, std::vector<KvLayer>& kv, int64_t rows,
                                int64_t out_rows) {
  Tensor hidden = ws_.hidden.rows(0, rows), normed = ws_.normed.rows(0, rows);
  Tensor qkv = ws_.qkv.rows(0, rows), q = ws_.q.rows(0, rows), attn = ws_.attn.rows(0, rows);
  Tensor proj = ws_.proj.rows(0, rows), gate_up = ws_.gate_up.rows(0, rows);
  Tensor act = ws_.act.rows(0, rows);
  const Tensor attn_flat = attn.reshaped({rows, int64_t{shard_.num_q_heads} * config_.head_dim});
  const Tensor ids = ws_.inputs.rows(0, rows);
  const Tensor positions = ws_.inputs.rows(rows, 2 * rows);
  const Tensor slots = ws_.inputs.rows(2 * rows, 3 * rows);
  const Tensor picked_ids = ws_.inputs.rows(3 * rows, 3 * rows + out_rows);
  const float eps = config_.rms_norm_eps;

  backend_.embedding(ids, weights_.embed, hidden);
  if (shard_.sharded()) comm_.all_reduce_sum(hidden);  // each row came from one rank
  // The residual stream: each projection's output joins `hidden` either inside the
  // projection (linear_into_residual, fused on GPUs for decode rows) or, left `pending`, in
  // the norm before the next projection (add_rms_norm_linear); each norm goes with the
  // projection after it.
  Tensor pending;
  for (size_t l = 0; l < weights_.layers.size(); ++l) {
    const LayerWeights& w = weights_.layers[l];
    backend_.add_rms_norm_linear_qkv_store(hidden, pending, w.input_norm, eps, w.qkv, w.qkv_bias,
                                           normed, qkv, w.q_norm, w.k_norm, positions, slots, rope_,
                                           q, kv[l]);
    backend_.attention(q, positions, kv[l], plan, rope_, attn);
    pending = project_into_residual(attn_flat, w.o_proj, hidden, proj);
    if (shard_.sharded()) {  // the down projection's partial sums meet in an all-reduce
      backend_.add_rms_norm_linear_silu_mul(hidden, pending, w.post_norm, eps, w.gate_up, normed,
                                            gate_up, act);
      pending = project_into_residual(act, w.down, hidden, proj);
    } else {
      const bool added = backend_.add_rms_norm_mlp_into_residual(
          hidden, pending, w.post_norm, eps, w.gate_up, w.down, normed, gate_up, act, proj);
      pending = added ? Tensor{} : proj;
    }
  }
  if (pending.defined()) backend_.add_inplace(hidden, pending);  // the last MLP output

  // Only the requested rows go through the final norm and lm_head; a row gather is an
  // embedding lookup with the step's hidden states as the table.
  if (out_rows == 0) return;
  Tensor logits = ws_.logits.rows(0, out_rows);
  Tensor picked = proj.rows(0, out_rows), picked_normed = normed.rows(0, out_rows);
  backend_.embedding(picked_ids, hidden, picked);
  backend_.rms_norm(picked, weights_.final_norm, eps, picked_normed);
  // Vocabulary-parallel: each rank computes its rows of lm_head, then all gather.
  Tensor local = shard_.sharded() ? ws_.local_logits.rows(0, out_rows) : logits;
  backend_.linear(picked_normed, weights_.lm_head, Tensor{}, local);
  comm_.all_gather_columns(local, logits);
}

// hidden += x · wᵀ, or the product left in `out` and returned as pending. Row-parallel
// weights (tensor parallelism) give each rank a part of the product: summed over the ranks
// before it joins the residual.
Tensor DecoderModel::project_into_residual(const Tensor& x, const Tensor& w, Tensor& hidden,
                                           Tensor& out) {
  if (shard_.sharded()) {
    backend_.linear(x, w, Tensor{}, out);
    comm_.all_reduce_sum(out);
    return out;
  }
  return backend_.linear_into_residual(x, w, hidden, out) ? Tensor{} : out;
}

const std::vector<int32_t>& DecoderModel::local_ids(const std::vector<int32_t>& ids) {
  if (!shard_.sharded()) return ids;
  local_ids_.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t row = ids[i] - shard_.vocab_begin;
    local_ids_[i] = 0 <= row && row < shard_.vocab_size ? row : shard_.vocab_size;
  }
  return local_ids_;
}

}  // namespace cascade

// The Qwen3 / Qwen2 decoder forward, written once against the Backend ops. The two
// architectures differ only in which weights exist (q/k/v bias for Qwen2, per-head q/k
// norm for Qwen3), so there is one forward and no architecture switch.
//
// Tensor parallel: a model on a rank of several holds that rank's shard (ShardPlan) and
// runs on its heads, MLP columns and vocabulary rows; the partial sums after o_proj and
// down_proj and the embedding are all-reduced, and the logits gathered, through its
// Communicator. Every rank calls forward with the same batch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "base/tensor.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/shard_plan.h"
#include "ops/attention_plan.h"
#include "ops/backend.h"
#include "ops/communicator.h"

namespace cascade {

// One step: rows are the tokens of all sequences in the step.
struct ForwardBatch {
  // [rows]; where the backend samples ahead (one rank), an id < 0 is the token the step
  // before drew for its sampled row -id - 1 (Backend::substitute_sampled_ids).
  std::vector<int32_t> token_ids;
  std::vector<int32_t> positions;    // [rows] logical positions
  std::vector<int32_t> slots;        // [rows] KV slot (page · page_size + offset) to write
  AttentionPlan plan;                // finalized
  std::vector<int32_t> logits_rows;  // rows whose logits are returned, in this order
};

class DecoderModel {
 public:
  // `comm` (kept by reference) names the rank and world; null: one rank. The weights
  // must be this rank's shard (load_model_weights with the same ShardPlan).
  DecoderModel(ModelConfig config, ModelWeights weights, Backend& backend,
               Communicator* comm = nullptr);

  // One KvLayer per decoder layer, each [num_pages, page_size, kv_heads, head_dim] with
  // this rank's kv_heads (ShardPlan::num_kv_heads).
  std::vector<KvLayer> allocate_kv_cache(int num_pages, int page_size);

  // Writes the step's K/V into `kv` and returns the logits of batch.logits_rows:
  // [logits_rows, vocab] f32 on the backend (valid until the next call).
  Tensor forward(const ForwardBatch& batch, std::vector<KvLayer>& kv);

  // Decode steps (every row samples) of up to `max_rows` rows run as recorded graphs
  // (Backend::capture), padded to the next bucket size; 0 runs every step eagerly (the
  // default, and always where the backend cannot record). Padding rows write no KV.
  // Steps with fewer logits rows than rows (prefill, mixed) of up to `max_prefill_rows`
  // rows replay graphs too (the same ones where the bucket and kernels match), which
  // compute logits for every row of the bucket (the extra LM-head rows are why that limit
  // is small); 0: they run eagerly.
  void set_graph_max_rows(int max_rows, int max_prefill_rows = 0);
  // The bucket a decode step of `rows` rows is padded to, or 0 when it runs eagerly.
  int64_t graph_rows(int64_t rows) const { return bucket(rows, graph_max_rows_); }
  // The same for a step with fewer logits rows than rows.
  int64_t prefill_graph_rows(int64_t rows) const { return bucket(rows, graph_max_prefill_rows_); }
  int num_graphs() const { return static_cast<int>(graphs_.size()); }
  int graphs_recorded() const { return graphs_recorded_; }

  const ModelConfig& config() const { return config_; }
  const ShardPlan& shard() const { return shard_; }
  Backend& backend() const { return backend_; }

 private:
  // Activations of one step, reused across layers and, while rows fit, across steps.
  // inputs: i32 [4 · capacity], a step of R rows holds ids at [0, R), positions at
  // [R, 2R), slots at [2R, 3R) and its logits rows from 3R.
  struct Workspace {
    int64_t capacity = 0;         // rows
    int64_t logits_capacity = 0;  // logits rows
    Tensor hidden, normed, qkv, q, attn, proj, gate_up, act, inputs;
    Tensor logits, local_logits;  // [logits_capacity, vocab] and this rank's columns
  };

  static int64_t bucket(int64_t rows, int64_t max_rows);
  bool sampled_ahead_ids_allowed() const {
    return backend_.can_sample_ahead() && !shard_.sharded();
  }
  // The step's ids as rows of this rank's embedding shard (others -> its zero row).
  const std::vector<int32_t>& local_ids(const std::vector<int32_t>& ids);
  Tensor project_into_residual(const Tensor& x, const Tensor& w, Tensor& hidden, Tensor& out);
  void check_shard_shapes() const;

  void validate(const ForwardBatch& batch, const std::vector<KvLayer>& kv) const;
  void reserve(int64_t rows, int64_t logits_rows);
  // Uploads the step's inputs for `rows` rows and `logits_rows` logits rows; rows past the
  // batch's are padding (id 0, position 0, no KV slot, their own logits row).
  void write_inputs(const ForwardBatch& batch, int64_t rows, int64_t logits_rows);
  // Queues the whole step on the backend for the inputs of write_inputs.
  void enqueue_step(const AttentionPlan& plan, std::vector<KvLayer>& kv, int64_t rows,
                    int64_t logits_rows);
  // Replays the graph of `rows` rows, recording it (after one eager run) the first time.
  void run_graph(const AttentionPlan& plan, std::vector<KvLayer>& kv, int64_t rows);

  ModelConfig config_;
  ModelWeights weights_;
  Backend& backend_;
  std::unique_ptr<Communicator> own_comm_;  // the single rank when none is given
  Communicator& comm_;
  ShardPlan shard_;
  RopeParams rope_;
  Workspace ws_;
  std::vector<int32_t> local_ids_;
  std::vector<int32_t> inputs_;  // host side of ws_.inputs
  int graph_max_rows_ = 0;
  int graph_max_prefill_rows_ = 0;
  int graphs_recorded_ = 0;
  // Graphs by rows and Backend::graph_variant; they hold the workspace's and the
  // backend's buffers of `graphs_key_`.
  std::map<std::pair<int64_t, uint32_t>, std::unique_ptr<StepGraph>> graphs_;
  std::tuple<int64_t, int64_t, uint64_t> graphs_key_{};
};

}  // namespace cascade

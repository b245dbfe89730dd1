#include "engine/model_runner.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "base/env_int.h"
#include "base/error.h"
#include "base/step_profile.h"
#include "engine/sampler.h"
#include "model/safetensors.h"
#include "ops/backend_factory.h"

namespace cascade {
namespace {

constexpr int64_t kDefaultCpuKvBytes = int64_t{1} << 30;
// Decode steps of more rows are long enough that launching their kernels one by one costs
// little (nano-vllm records up to 512 too).
constexpr int kMaxGraphRows = 512;

// Short prefill steps (a question after cached chunks: B4) replay graphs too, which
// compute logits for every row of their bucket: steps of up to 64 rows by default (B4's
// cached step of 64 rows 3.31 -> 3.07 ms on the H200, B3 and B6 unchanged, 2026-12-03);
// CASCADE_PREFILL_GRAPH_ROWS=N (0..512) sets the limit, 0 runs them eagerly.
constexpr int kDefaultPrefillGraphRows = 64;
int prefill_graph_rows_from_env() {
  return env_int("CASCADE_PREFILL_GRAPH_ROWS", kDefaultPrefillGraphRows, 0, kMaxGraphRows);
}

}  // namespace

ModelRunner::ModelRunner(const std::string& model_dir, const EngineConfig& config)
    : page_size_(config.page_size) {
  planner_.page_size = config.page_size;
  planner_.enable_cascade = config.enable_cascade_attention;
  planner_.max_cascade_levels = config.max_cascade_levels;
  const ModelConfig model_config = load_model_config(model_dir);
  const auto checkpoint = SafetensorsModel::open(model_dir);
  model_ = std::make_unique<TensorParallelModel>(
      model_config, checkpoint,
      TensorParallelOptions{config.device, config.tensor_parallel_size, config.num_threads,
                            config.enforce_eager ? 0 : std::min(config.max_num_seqs, kMaxGraphRows),
                            config.enforce_eager ? 0 : prefill_graph_rows_from_env()});
  device_ = model_->backend().name();
  planner_.min_shared_tokens = config.cascade_min_shared_tokens >= 0
                                   ? config.cascade_min_shared_tokens
                                   : model_->backend().min_shared_level_tokens();

  max_model_len_ = std::min(config.max_model_len, model_config.max_position_embeddings);
  // Budgets are per device; each rank's pages hold only its KV heads.
  const int64_t page_bytes = model_->kv_bytes_per_page(page_size_);
  kv_bytes_per_page_ = page_bytes * model_->world_size();
  if (config.num_kv_pages > 0) {
    num_kv_pages_ = config.num_kv_pages;
  } else {
    // On a GPU the default is what gpu_memory_utilization leaves after the weights.
    int64_t budget = kDefaultCpuKvBytes;
    if (config.kv_cache_memory_bytes > 0) {
      budget = config.kv_cache_memory_bytes;
    } else if (const auto memory = device_memory(model_->backend())) {
      budget = kv_cache_budget(*memory, config.gpu_memory_utilization);
    }
    // More pages than max_num_seqs full-length sequences can use would be wasted memory.
    const int64_t useful =
        int64_t{config.max_num_seqs} * ((max_model_len_ + page_size_ - 1) / page_size_);
    num_kv_pages_ = static_cast<int>(std::min(budget / page_bytes, useful));
  }
  const int pages_for_one = (max_model_len_ + page_size_ - 1) / page_size_;
  check(num_kv_pages_ >= pages_for_one, [&] {
    return "KV cache of " + std::to_string(num_kv_pages_) + " pages cannot hold one sequence of " +
           "max_model_len " + std::to_string(max_model_len_) + " tokens (needs " +
           std::to_string(pages_for_one) + "); raise num_kv_pages or lower max_model_len";
  });
  model_->allocate_kv_cache(num_kv_pages_, page_size_);
  samples_ahead_ = model_->can_sample_ahead();
}

namespace {

int64_t level_id(const ChunkEntry* entry) {
  return static_cast<int64_t>(reinterpret_cast<std::intptr_t>(entry));
}

// A computed (or in-step) chunk as a non-causal level at `first_position`.
PlanLevel chunk_level(const SequenceChunk& chunk, int length, int first_position, int delta) {
  return PlanLevel{level_id(chunk.entry), chunk.entry->pages, length, first_position, delta, false};
}

}  // namespace

void ModelRunner::add_fill_rows(const Sequence& seq, const ChunkFill& fill) {
  auto& b = batch_;
  const SequenceChunk& chunk = seq.chunks[static_cast<size_t>(fill.chunk)];
  const ChunkEntry& entry = *chunk.entry;
  PlanSequence ps;
  for (int i = fill.first; i < fill.first + fill.count; ++i) {
    ps.rows.push_back(static_cast<int32_t>(b.token_ids.size()));
    b.token_ids.push_back((*chunk.tokens)[static_cast<size_t>(i)]);
    b.positions.push_back(chunk.canonical_start + i);
    b.slots.push_back(entry.pages[static_cast<size_t>(i / page_size_)] * page_size_ +
                      i % page_size_);
  }
  // The chunk's KV is computed as if it followed its parent chain at canonical positions.
  for (int p = 0; p < chunk.num_parents; ++p) {
    const SequenceChunk& parent = seq.chunks[static_cast<size_t>(p)];
    ps.levels.push_back(chunk_level(parent, parent.length(), parent.canonical_start, 0));
  }
  ps.levels.push_back(PlanLevel{-1, entry.pages, fill.first + fill.count, chunk.canonical_start, 0,
                                /*causal=*/true});
  plan_sequences_.push_back(std::move(ps));
}

void ModelRunner::add_own_rows(const Sequence& seq, int num_new_tokens, bool samples) {
  auto& b = batch_;
  PlanSequence ps;
  for (int j = 0; j < num_new_tokens; ++j) {
    const int i = seq.num_computed_tokens + j;
    ps.rows.push_back(static_cast<int32_t>(b.token_ids.size()));
    b.token_ids.push_back(seq.tokens[static_cast<size_t>(i)]);
    b.positions.push_back(seq.context_len + i);
    b.slots.push_back(seq.pages[static_cast<size_t>(i / page_size_)] * page_size_ + i % page_size_);
  }
  for (const auto& chunk : seq.chunks) {
    ps.levels.push_back(
        chunk_level(chunk, chunk.length(), chunk.logical_start, chunk.rope_delta()));
  }
  const int kv_len = seq.num_computed_tokens + num_new_tokens;
  const auto num_pages = static_cast<size_t>((kv_len + page_size_ - 1) / page_size_);
  ps.levels.push_back(
      PlanLevel{-1,
                {seq.pages.begin(), seq.pages.begin() + static_cast<ptrdiff_t>(num_pages)},
                kv_len,
                seq.context_len,
                0,
                /*causal=*/true});
  if (samples) b.logits_rows.push_back(ps.rows.back());
  plan_sequences_.push_back(std::move(ps));
}

void ModelRunner::build_batch(const SchedulerOutput& step) {
  PhaseTimer timer(StepPhase::BuildBatch);
  auto& b = batch_;
  b.token_ids.clear();
  b.positions.clear();
  b.slots.clear();
  b.logits_rows.clear();
  plan_sequences_.clear();
  for (const auto& item : step.items) {
    for (const auto& fill : item.fills) add_fill_rows(*item.seq, fill);
    if (item.num_new_tokens > 0) add_own_rows(*item.seq, item.num_new_tokens, item.samples);
  }
  check(static_cast<int>(b.token_ids.size()) == step.num_tokens,
        "model runner: step rows do not match the scheduler's count");
  if (!samples_ahead_) {
    for (int32_t& id : b.token_ids) id = substituted(id);
  }
  b.plan = plan_attention(plan_sequences_, step.num_tokens, planner_);
}

std::vector<float>& ModelRunner::run(const SchedulerOutput& step) {
  build_batch(step);
  model_->forward(batch_, logits_);
  return logits_;
}

// A pending id names a row of the step queued just before this one: only the newest
// step's tokens may be named (one step is in flight at most).
int32_t ModelRunner::substituted(int32_t id) const {
  if (id >= 0) return id;
  const auto row = static_cast<size_t>(-static_cast<int64_t>(id) - 1);
  check(!drawn_.empty() && row < drawn_.back().size(), [&] {
    return "model runner: token id " + std::to_string(id) + " names no row of the last step";
  });
  return drawn_.back()[row];
}

void ModelRunner::enqueue(const SchedulerOutput& step, const StepSampling& sampling) {
  build_batch(step);
  check(sampling.params.size() == batch_.logits_rows.size() &&
            sampling.rngs.size() == batch_.logits_rows.size(),
        "model runner: one sampling parameter set and generator per sampling row");
  if (samples_ahead_) {
    model_->forward_and_sample_ahead(batch_, sampling.device);
    return;
  }
  drawn_.push_back(run_and_sample_now(sampling));  // finish() takes the oldest
}

std::vector<int32_t> ModelRunner::run_and_sample_now(const StepSampling& sampling) {
  std::vector<int32_t> tokens;
  if (model_->forward_and_sample(batch_, sampling.device, tokens, logits_)) return tokens;
  // The host sampler: logits_ [sampling rows, vocab], left by forward_and_sample.
  const int vocab = model_->config().vocab_size;
  const auto usable = static_cast<int>(sampling.device.usable_vocab);
  const size_t rows = sampling.params.size();
  // Ids past the tokenizer (padding rows of the embedding) can never be produced.
  for (size_t r = 0; r < rows && usable < vocab; ++r) {
    std::fill(logits_.begin() + static_cast<ptrdiff_t>(r * vocab + usable),
              logits_.begin() + static_cast<ptrdiff_t>((r + 1) * vocab),
              -std::numeric_limits<float>::infinity());
  }
  std::vector<RequestRng> rngs = sampling.rngs;
  std::vector<RequestRng*> rng_of_row;
  for (RequestRng& rng : rngs) rng_of_row.push_back(&rng);
  tokens.assign(rows, -1);
  sample_tokens(logits_.data(), static_cast<int>(rows), vocab, sampling.params, rng_of_row, tokens);
  return tokens;
}

std::vector<int32_t> ModelRunner::finish() {
  if (samples_ahead_) {
    std::vector<int32_t> tokens;
    model_->finish_sample(tokens);
    return tokens;
  }
  check(!drawn_.empty(), "model runner: finish without a queued step");
  std::vector<int32_t> tokens = std::move(drawn_.front());
  drawn_.pop_front();
  return tokens;
}

}  // namespace cascade

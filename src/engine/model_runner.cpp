#include "engine/model_runner.h"

#include <algorithm>

#include "base/error.h"
#include "model/model_weights.h"
#include "model/safetensors.h"

namespace cascade {
namespace {

constexpr int64_t kDefaultCpuKvBytes = int64_t{1} << 30;

std::unique_ptr<Backend> make_backend(const EngineConfig& config, std::string* device) {
  if (config.device == "cuda") {
    throw Error("device 'cuda': this build of cascade has no CUDA backend");
  }
  check(config.device == "cpu" || config.device == "auto",
        "device must be 'auto', 'cpu' or 'cuda' (got '" + config.device + "')");
  *device = "cpu";
  return make_cpu_backend(config.num_threads);
}

}  // namespace

ModelRunner::ModelRunner(const std::string& model_dir, const EngineConfig& config)
    : page_size_(config.page_size) {
  backend_ = make_backend(config, &device_);
  ModelConfig model_config = load_model_config(model_dir);
  const auto checkpoint = SafetensorsModel::open(model_dir);
  ModelWeights weights = load_model_weights(model_config, checkpoint, *backend_);
  model_ = std::make_unique<DecoderModel>(model_config, std::move(weights), *backend_);

  max_model_len_ = std::min(config.max_model_len, model_config.max_position_embeddings);
  const int64_t page_bytes = int64_t{2} * model_config.num_hidden_layers * page_size_ *
                             model_config.kv_dim() *
                             static_cast<int64_t>(dtype_size(backend_->compute_dtype()));
  if (config.num_kv_pages > 0) {
    num_kv_pages_ = config.num_kv_pages;
  } else {
    const int64_t budget =
        config.kv_cache_memory_bytes > 0 ? config.kv_cache_memory_bytes : kDefaultCpuKvBytes;
    // More pages than max_num_seqs full-length sequences can use would be wasted memory.
    const int64_t useful =
        int64_t{config.max_num_seqs} * ((max_model_len_ + page_size_ - 1) / page_size_);
    num_kv_pages_ = static_cast<int>(std::min(budget / page_bytes, useful));
  }
  const int pages_for_one = (max_model_len_ + page_size_ - 1) / page_size_;
  check(num_kv_pages_ >= pages_for_one,
        "KV cache of " + std::to_string(num_kv_pages_) + " pages cannot hold one sequence of " +
            "max_model_len " + std::to_string(max_model_len_) + " tokens (needs " +
            std::to_string(pages_for_one) + "); raise num_kv_pages or lower max_model_len");
  kv_ = model_->allocate_kv_cache(num_kv_pages_, page_size_);
}

void ModelRunner::build_batch(const SchedulerOutput& step) {
  auto& b = batch_;
  b.token_ids.clear();
  b.positions.clear();
  b.slots.clear();
  b.logits_rows.clear();
  b.plan = AttentionPlan{};
  b.plan.page_size = page_size_;
  b.plan.num_rows = step.num_tokens;
  std::vector<int32_t> rows, pages;
  for (const auto& item : step.items) {
    const Sequence& seq = *item.seq;
    rows.clear();
    for (int j = 0; j < item.num_new_tokens; ++j) {
      const int pos = seq.num_computed_tokens + j;
      rows.push_back(static_cast<int32_t>(b.token_ids.size()));
      b.token_ids.push_back(seq.tokens[static_cast<size_t>(pos)]);
      b.positions.push_back(pos);
      b.slots.push_back(seq.pages[static_cast<size_t>(pos / page_size_)] * page_size_ +
                        pos % page_size_);
    }
    const int kv_len = seq.num_computed_tokens + item.num_new_tokens;
    const auto num_pages = static_cast<size_t>((kv_len + page_size_ - 1) / page_size_);
    pages.assign(seq.pages.begin(), seq.pages.begin() + static_cast<ptrdiff_t>(num_pages));
    b.plan.add_task(rows, pages, kv_len, /*first_position=*/0, /*delta=*/0, /*is_causal=*/true);
    if (item.samples) b.logits_rows.push_back(rows.back());
  }
  b.plan.finalize();
}

std::vector<float>& ModelRunner::run(const SchedulerOutput& step) {
  build_batch(step);
  const Tensor logits = model_->forward(batch_, kv_);
  logits_.resize(static_cast<size_t>(logits.numel()));
  backend_->download_f32(logits, logits_.data());
  return logits_;
}

}  // namespace cascade

#include "model/tensor_parallel_model.h"

#include <algorithm>
#include <thread>

#include "base/error.h"
#include "base/step_profile.h"
#include "model/model_weights.h"
#include "ops/backend_factory.h"
#include "ops/cpu/thread_pool.h"

namespace cascade {
namespace {

// CPU ranks share the machine's cores.
int threads_per_rank(int cpu_threads, int world_size) {
  const int all =
      cpu_threads > 0 ? cpu_threads : static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, all / world_size);
}

}  // namespace

TensorParallelModel::TensorParallelModel(const ModelConfig& config,
                                         const SafetensorsModel& checkpoint,
                                         const TensorParallelOptions& options) {
  const int world = options.world_size;
  check_tensor_parallel_size(config, world);
  for (int r = 0; r < world; ++r) ranks_.push_back(std::make_unique<Rank>());
  if (world == 1) {
    Rank& rank = *ranks_.front();
    rank.backend = make_backend(options.device, options.cpu_threads);
    rank.model = std::make_unique<DecoderModel>(
        config, load_model_weights(config, checkpoint, *rank.backend), *rank.backend);
    rank.model->set_graph_max_rows(options.graph_max_rows, options.graph_max_prefill_rows);
    return;
  }
  threads_ = std::make_unique<ThreadPool>(world);
  const int cpu_threads = threads_per_rank(options.cpu_threads, world);
  // Rank 0's backend settles the kind ("auto" resolves once); the others follow it. Every
  // backend exists before any rank joins the group, whose join may wait for all ranks.
  std::unique_ptr<Backend> first = make_backend(options.device, cpu_threads, 0);
  const std::string kind = first->name();
  const auto group = make_communicator_group(kind, world);
  on_every_rank([&](Rank& rank, int r) {
    rank.backend = r == 0 ? std::move(first) : make_backend(kind, cpu_threads, r);
  });
  on_every_rank([&](Rank& rank, int r) { rank.comm = group->join(r, *rank.backend); });
  on_every_rank([&](Rank& rank, int r) {
    ModelWeights weights =
        load_model_weights(config, checkpoint, *rank.backend, make_shard_plan(config, r, world));
    rank.model =
        std::make_unique<DecoderModel>(config, std::move(weights), *rank.backend, rank.comm.get());
    // Recorded steps with NCCL collectives inside have not been run on several GPUs yet:
    // every rank steps eagerly until they have.
  });
}

// Each rank's device state goes on the thread that made it.
TensorParallelModel::~TensorParallelModel() {
  if (!threads_) return;
  on_every_rank([](Rank& rank, int) {
    rank.kv.clear();
    rank.model.reset();
    rank.comm.reset();
    rank.backend.reset();
  });
}

int64_t TensorParallelModel::kv_bytes_per_page(int page_size) const {
  const DecoderModel& model = *ranks_.front()->model;
  return int64_t{2} * model.config().num_hidden_layers * page_size * model.shard().num_kv_heads *
         model.config().head_dim * static_cast<int64_t>(dtype_size(backend().compute_dtype()));
}

void TensorParallelModel::allocate_kv_cache(int num_pages, int page_size) {
  on_every_rank(
      [&](Rank& rank, int) { rank.kv = rank.model->allocate_kv_cache(num_pages, page_size); });
}

void TensorParallelModel::forward(const ForwardBatch& batch, std::vector<float>& logits) {
  on_every_rank([&](Rank& rank, int r) {
    const Tensor t = forward_rank(rank, r, batch);
    if (r == 0) {
      PhaseTimer timer(StepPhase::SampleWait);
      logits.resize(static_cast<size_t>(t.numel()));
      rank.backend->download_f32(t, logits.data());
    } else {
      rank.backend->synchronize();  // the step's inputs are reused by the next step
    }
  });
}

bool TensorParallelModel::forward_and_sample(const ForwardBatch& batch,
                                             const DeviceSampling& sampling,
                                             std::vector<int32_t>& tokens,
                                             std::vector<float>& logits) {
  bool sampled = false;
  on_every_rank([&](Rank& rank, int r) {
    const Tensor t = forward_rank(rank, r, batch);
    if (r != 0) {
      rank.backend->synchronize();  // the step's inputs are reused by the next step
      return;
    }
    PhaseTimer timer(StepPhase::SampleWait);
    tokens.assign(static_cast<size_t>(t.dim(0)), -1);
    sampled = rank.backend->sample(t, sampling.usable_vocab, sampling.rows, tokens) &&
              std::find(tokens.begin(), tokens.end(), -1) == tokens.end();
    if (!sampled) {
      logits.resize(static_cast<size_t>(t.numel()));
      rank.backend->download_f32(t, logits.data());
    }
  });
  return sampled;
}

bool TensorParallelModel::can_sample_ahead() const {
  return world_size() == 1 && backend().can_sample_ahead();
}

void TensorParallelModel::forward_and_sample_ahead(const ForwardBatch& batch,
                                                   const DeviceSampling& sampling) {
  check(can_sample_ahead(), "forward_and_sample_ahead: needs one rank whose backend samples ahead");
  Rank& rank = *ranks_.front();
  const Tensor t = forward_rank(rank, 0, batch);
  rank.backend->sample_ahead(t, sampling.usable_vocab, sampling.rows);
  rows_ahead_.push_back(t.dim(0));
}

void TensorParallelModel::finish_sample(std::vector<int32_t>& tokens) {
  check(!rows_ahead_.empty(), "finish_sample: no step was queued ahead");
  PhaseTimer timer(StepPhase::SampleWait);
  tokens.assign(static_cast<size_t>(rows_ahead_.front()), -1);
  rows_ahead_.pop_front();
  ranks_.front()->backend->finish_sample(tokens);
}

// Rank 0's enqueue time is the profile's Forward phase (the ranks run alike).
Tensor TensorParallelModel::forward_rank(Rank& rank, int r, const ForwardBatch& batch) {
  if (r != 0) return rank.model->forward(batch, rank.kv);
  PhaseTimer timer(StepPhase::Forward);
  return rank.model->forward(batch, rank.kv);
}

void TensorParallelModel::on_every_rank(const std::function<void(Rank&, int)>& job) {
  if (!threads_) {
    job(*ranks_.front(), 0);
    return;
  }
  threads_->run_on_each_thread([&](int r) { job(*ranks_[static_cast<size_t>(r)], r); });
}

}  // namespace cascade

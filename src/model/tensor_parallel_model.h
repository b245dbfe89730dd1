// A decoder split over `tensor_parallel_size` ranks, one backend (GPU) each, driven from
// one caller: rank 0 runs on the calling thread and ranks 1.. on threads of their own
// (each keeps its thread, so a rank's CUDA device stays current). Each call runs on every
// rank with the same inputs and returns when all are done; collectives between the ranks
// go through a Communicator (NCCL on CUDA, in-process on the CPU, where several ranks are
// for testing the sharding, not for speed). With one rank it is a DecoderModel.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/decoder_model.h"
#include "model/safetensors.h"

namespace cascade {

class ThreadPool;

struct TensorParallelOptions {
  std::string device = "cpu";  // as make_backend takes it; rank r uses GPU r
  int world_size = 1;          // tensor_parallel_size
  int cpu_threads = 0;         // CPU threads in all (split between ranks); 0: all cores
  // Decode steps of up to this many rows run as recorded graphs where the backend can
  // (DecoderModel::set_graph_max_rows), with one rank; 0: all eager. Steps with fewer
  // logits rows (prefill, mixed) up to graph_max_prefill_rows rows too.
  int graph_max_rows = 0;
  int graph_max_prefill_rows = 0;
};

class TensorParallelModel {
 public:
  // Loads each rank's shard of `checkpoint`; Error naming tensor_parallel_size when the
  // model cannot be split that way or the device cannot run that many ranks.
  TensorParallelModel(const ModelConfig& config, const SafetensorsModel& checkpoint,
                      const TensorParallelOptions& options);
  ~TensorParallelModel();
  TensorParallelModel(const TensorParallelModel&) = delete;
  TensorParallelModel& operator=(const TensorParallelModel&) = delete;

  int world_size() const { return static_cast<int>(ranks_.size()); }
  const ModelConfig& config() const { return ranks_.front()->model->config(); }
  // Rank 0's backend, which the others equal in kind (and device memory, on GPUs).
  Backend& backend() const { return *ranks_.front()->backend; }
  // KV bytes of one page on one rank (its KV heads only).
  int64_t kv_bytes_per_page(int page_size) const;

  // Gives every rank a KV cache of `num_pages` pages of its KV heads.
  void allocate_kv_cache(int num_pages, int page_size);
  // One step on every rank; `logits` gets the logits of batch.logits_rows, row-major
  // [rows, vocab] f32 (rank 0's, which every rank has after the gather).
  void forward(const ForwardBatch& batch, std::vector<float>& logits);

  // Rows to sample on the device (Backend::sample) over the ids [0, usable_vocab).
  struct DeviceSampling {
    SampleRows rows;
    int64_t usable_vocab = 0;
  };
  // One step, then rank 0 samples where its logits are: true with `tokens` filled, or
  // false with `logits` filled as forward() does, when the backend leaves sampling to the
  // host or a row's logits are faulty (the host sampler names the fault).
  bool forward_and_sample(const ForwardBatch& batch, const DeviceSampling& sampling,
                          std::vector<int32_t>& tokens, std::vector<float>& logits);

  // Steps queued one ahead of their tokens (asynchronous scheduling): with one rank whose
  // backend samples ahead (Backend::sample_ahead), forward_and_sample_ahead queues the step
  // and its sampling and returns; batch.token_ids < 0 name rows of the step queued before
  // it. finish_sample waits for the oldest queued step's tokens (-1 for a row whose logits
  // are faulty). Elsewhere can_sample_ahead() is false and these throw.
  bool can_sample_ahead() const;
  void forward_and_sample_ahead(const ForwardBatch& batch, const DeviceSampling& sampling);
  void finish_sample(std::vector<int32_t>& tokens);

 private:
  struct Rank {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Communicator> comm;
    std::unique_ptr<DecoderModel> model;
    std::vector<KvLayer> kv;
  };

  std::vector<std::unique_ptr<Rank>> ranks_;
  std::deque<int64_t> rows_ahead_;       // sampled rows of the steps queued ahead, oldest first
  std::unique_ptr<ThreadPool> threads_;  // one thread per rank; null with one rank
  void on_every_rank(const std::function<void(Rank&, int)>& job);
  Tensor forward_rank(Rank& rank, int r, const ForwardBatch& batch);
};

}  // namespace cascade

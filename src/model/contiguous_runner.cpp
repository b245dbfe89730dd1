#include "model/contiguous_runner.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"

namespace cascade {

ContiguousRunner::ContiguousRunner(DecoderModel& model, int page_size)
    : model_(model), page_size_(page_size) {
  check(page_size > 0, "contiguous runner: page_size must be positive");
}

void ContiguousRunner::allocate(const std::vector<int64_t>& capacity) {
  first_page_.clear();
  int64_t pages = 0;
  for (int64_t n : capacity) {
    check(n <= model_.config().max_position_embeddings,
          "contiguous runner: a sequence of " + std::to_string(n) +
              " tokens exceeds max_position_embeddings " +
              std::to_string(model_.config().max_position_embeddings));
    first_page_.push_back(static_cast<int32_t>(pages));
    pages += (n + page_size_ - 1) / page_size_;
  }
  if (pages > kv_pages_) {
    kv_ = model_.allocate_kv_cache(static_cast<int>(pages), page_size_);
    kv_pages_ = static_cast<int>(pages);
  }
}

void ContiguousRunner::add_rows(ForwardBatch& batch, int seq, const int32_t* tokens, int start,
                                int n) {
  std::vector<int32_t> rows, pages;
  const int32_t first = first_page_[static_cast<size_t>(seq)];
  for (int j = 0; j < n; ++j) {
    const int pos = start + j;
    rows.push_back(static_cast<int32_t>(batch.token_ids.size()));
    batch.token_ids.push_back(tokens[j]);
    batch.positions.push_back(pos);
    batch.slots.push_back(first * page_size_ + pos);
  }
  const int kv_len = start + n;
  for (int p = 0; p < (kv_len + page_size_ - 1) / page_size_; ++p) pages.push_back(first + p);
  batch.plan.add_task(rows, pages, kv_len, 0, 0, true);
}

namespace {

ForwardBatch empty_batch(int rows, int page_size) {
  ForwardBatch batch;
  batch.plan.page_size = page_size;
  batch.plan.num_rows = rows;
  return batch;
}

std::vector<float> download(Backend& backend, const Tensor& t) {
  std::vector<float> host(static_cast<size_t>(t.numel()));
  backend.download_f32(t, host.data());
  return host;
}

}  // namespace

std::vector<std::vector<float>> ContiguousRunner::prefill_logits(
    const std::vector<std::vector<int32_t>>& prompts) {
  std::vector<int64_t> lengths;
  for (const auto& p : prompts) {
    check(!p.empty(), "contiguous runner: empty prompt");
    lengths.push_back(static_cast<int64_t>(p.size()));
  }
  allocate(lengths);
  const auto total = static_cast<int>(std::accumulate(lengths.begin(), lengths.end(), int64_t{0}));
  ForwardBatch batch = empty_batch(total, page_size_);
  for (size_t i = 0; i < prompts.size(); ++i) {
    add_rows(batch, static_cast<int>(i), prompts[i].data(), 0, static_cast<int>(lengths[i]));
  }
  batch.plan.finalize();
  batch.logits_rows.resize(static_cast<size_t>(total));
  std::iota(batch.logits_rows.begin(), batch.logits_rows.end(), 0);
  const auto all = download(model_.backend(), model_.forward(batch, kv_));

  std::vector<std::vector<float>> result;
  const auto vocab = static_cast<size_t>(model_.config().vocab_size);
  size_t row = 0;
  for (int64_t n : lengths) {
    result.emplace_back(
        all.begin() + static_cast<ptrdiff_t>(row * vocab),
        all.begin() + static_cast<ptrdiff_t>((row + static_cast<size_t>(n)) * vocab));
    row += static_cast<size_t>(n);
  }
  return result;
}

std::vector<std::vector<int32_t>> ContiguousRunner::greedy(
    const std::vector<std::vector<int32_t>>& prompts, int new_tokens) {
  check(new_tokens >= 0, "contiguous runner: new_tokens must not be negative");
  const auto num_seqs = static_cast<int>(prompts.size());
  std::vector<std::vector<int32_t>> generated(prompts.size());
  if (new_tokens == 0 || prompts.empty()) return generated;
  std::vector<int64_t> capacity;
  int total = 0;
  for (const auto& p : prompts) {
    check(!p.empty(), "contiguous runner: empty prompt");
    capacity.push_back(static_cast<int64_t>(p.size()) + new_tokens - 1);
    total += static_cast<int>(p.size());
  }
  allocate(capacity);
  const auto vocab = static_cast<size_t>(model_.config().vocab_size);
  const auto pick = [&](const std::vector<float>& logits) {
    for (int s = 0; s < num_seqs; ++s) {
      const float* row = logits.data() + static_cast<size_t>(s) * vocab;
      generated[static_cast<size_t>(s)].push_back(
          static_cast<int32_t>(std::max_element(row, row + vocab) - row));
    }
  };

  ForwardBatch prefill = empty_batch(total, page_size_);
  for (int s = 0; s < num_seqs; ++s) {
    const auto& p = prompts[static_cast<size_t>(s)];
    add_rows(prefill, s, p.data(), 0, static_cast<int>(p.size()));
    prefill.logits_rows.push_back(static_cast<int32_t>(prefill.token_ids.size()) - 1);
  }
  prefill.plan.finalize();
  pick(download(model_.backend(), model_.forward(prefill, kv_)));

  for (int step = 1; step < new_tokens; ++step) {
    ForwardBatch decode = empty_batch(num_seqs, page_size_);
    for (int s = 0; s < num_seqs; ++s) {
      const auto position = static_cast<int>(prompts[static_cast<size_t>(s)].size()) + step - 1;
      add_rows(decode, s, &generated[static_cast<size_t>(s)].back(), position, 1);
      decode.logits_rows.push_back(s);
    }
    decode.plan.finalize();
    pick(download(model_.backend(), model_.forward(decode, kv_)));
  }
  return generated;
}

}  // namespace cascade

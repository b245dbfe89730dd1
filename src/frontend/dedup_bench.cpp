#include "frontend/dedup_bench.h"

#include <algorithm>
#include <random>
#include <vector>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/bench_run.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

struct PagesHeld {
  int64_t after_prefill = 0;  // once the first step (which admits every request) is queued
  int64_t peak = 0;           // over the whole run
};

// Runs every prompt at once. After the first step every prompt's KV is allocated and no
// decode step has taken a page yet, with or without asynchronous scheduling (which queues
// the next step before the last one's tokens are back, so that the peak includes the
// first decode step's pages).
PagesHeld pages_held(LLM& llm, const std::vector<Prompt>& prompts, int output_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = output_tokens;
  for (const auto& prompt : prompts) llm.add_request(prompt, p);
  PagesHeld held;
  bool first = true;
  while (llm.has_unfinished()) {
    llm.step();
    const EngineStats s = llm.stats();
    const int64_t used = s.num_kv_pages - s.num_free_kv_pages;
    if (first) held.after_prefill = used;
    first = false;
    held.peak = std::max(held.peak, used);
  }
  return held;
}

}  // namespace

DedupResult measure_dedup(const std::string& model_dir, const DedupWorkload& w,
                          EngineConfig config) {
  check(w.chunks_per_request <= w.num_chunks, "bench dedup: --per-request must be <= --chunks");
  const int prompt_tokens = w.chunks_per_request * w.chunk_tokens + w.question_tokens;
  config.max_num_seqs = w.num_requests;
  config.max_model_len = prompt_tokens + w.output_tokens + 1;
  // Every request is admitted in the first step, so that all are resident at the peak.
  config.max_num_batched_tokens = w.num_requests * prompt_tokens;
  const int pages_per_request = (config.max_model_len + config.page_size - 1) / config.page_size;
  config.num_kv_pages = w.num_requests * pages_per_request + pages_per_request;
  config.chunk_page_ratio = 1.0f;
  config.chunk_mode = ChunkMode::Compositional;

  // The workload: random ids so that no two chunks share a prefix by accident. The two
  // engines run one after the other: each one's KV pool may fill most of a GPU.
  std::mt19937 rng(w.seed);
  DedupResult result;
  std::vector<Prompt> plain;
  {
    LLM dedup(model_dir, config);
    const int vocab = std::min(dedup.tokenizer().vocab_size(), 10000);
    std::vector<std::vector<int32_t>> chunks;
    for (int c = 0; c < w.num_chunks; ++c)
      chunks.push_back(random_token_ids(rng, w.chunk_tokens, vocab));
    std::vector<Prompt> composed;
    for (int r = 0; r < w.num_requests; ++r) {
      std::vector<int> picks(static_cast<size_t>(w.num_chunks));
      for (int c = 0; c < w.num_chunks; ++c) picks[static_cast<size_t>(c)] = c;
      std::shuffle(picks.begin(), picks.end(), rng);
      Prompt p{.framing = Prompt::Framing::Raw};
      Prompt flat;
      for (int k = 0; k < w.chunks_per_request; ++k) {
        const auto& ids = chunks[static_cast<size_t>(picks[static_cast<size_t>(k)])];
        p.chunks.push_back(Chunk{.token_ids = ids});
        flat.token_ids.insert(flat.token_ids.end(), ids.begin(), ids.end());
      }
      p.token_ids = random_token_ids(rng, w.question_tokens, vocab);
      flat.token_ids.insert(flat.token_ids.end(), p.token_ids.begin(), p.token_ids.end());
      composed.push_back(std::move(p));
      plain.push_back(std::move(flat));
    }

    const PagesHeld held = pages_held(dedup, composed, w.output_tokens);
    result.peak_pages_dedup = held.peak;
    result.prefill_pages_dedup = held.after_prefill;
    const EngineStats s = dedup.stats();
    result.chunk_pages = s.chunk_pages;
    result.bytes_per_page = s.chunk_pages > 0 ? s.chunk_bytes / s.chunk_pages : 0;
  }

  config.enable_prefix_caching = false;
  LLM no_dedup(model_dir, config);
  const PagesHeld held = pages_held(no_dedup, plain, w.output_tokens);
  result.peak_pages_plain = held.peak;
  result.prefill_pages_plain = held.after_prefill;
  return result;
}

}  // namespace cascade

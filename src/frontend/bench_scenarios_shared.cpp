// B2 (shared-context decode), B3 (short sharing), B4 (time to first token from cached
// chunks) and B5 (KV memory with chunk dedup): composed prompts of random-id chunks.
#include <algorithm>
#include <random>

#include "base/error.h"
#include "base/step_profile.h"
#include "frontend/bench_floor.h"
#include "frontend/bench_model.h"
#include "frontend/bench_run.h"
#include "frontend/bench_scenarios.h"
#include "frontend/dedup_bench.h"

namespace cascade {
namespace {

struct SharedShape {
  int num_chunks, chunk_tokens, own_tokens, output_tokens;
  int shared() const { return num_chunks * chunk_tokens; }
};

std::vector<Chunk> random_chunks(const SharedShape& s, int vocab) {
  std::mt19937 rng(11);
  std::vector<Chunk> chunks;
  for (int c = 0; c < s.num_chunks; ++c) {
    chunks.push_back(Chunk{.token_ids = random_token_ids(rng, s.chunk_tokens, vocab)});
  }
  return chunks;
}

// `batch` prompts: the shared chunks and each its own random question.
std::vector<Prompt> composed_prompts(const std::vector<Chunk>& chunks, int batch, int own,
                                     int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Prompt> prompts;
  for (int b = 0; b < batch; ++b) {
    prompts.push_back(Prompt{.chunks = chunks,
                             .token_ids = random_token_ids(rng, own, vocab),
                             .framing = Prompt::Framing::Raw});
  }
  return prompts;
}

EngineConfig shared_config(const ScenarioOptions& o, const SharedShape& s, int max_batch) {
  EngineConfig c = o.engine();
  c.enable_prefix_caching = false;  // the chunk registry does the sharing
  c.max_num_seqs = max_batch;
  c.max_model_len = s.shared() + s.own_tokens + s.output_tokens + 16;
  c.num_kv_pages =
      pages_for(std::vector<int>(static_cast<size_t>(s.num_chunks), s.chunk_tokens), c.page_size) +
      pages_for(std::vector<int>(static_cast<size_t>(max_batch), s.own_tokens + s.output_tokens),
                c.page_size);
  c.chunk_page_ratio = 1.0f;
  // Every question is prefilled in one step, so that decode starts together.
  c.max_num_batched_tokens = std::max(c.max_num_batched_tokens, max_batch * s.own_tokens);
  return c;
}

// Computes the chunks' KV (one request) and returns the chunk tokens computed so far;
// timed runs after it must not compute any.
int64_t fill_chunks(LLM& llm, const std::vector<Chunk>& chunks, int own) {
  run_batch(llm, composed_prompts(chunks, 1, own, plain_vocab(llm), 5), {fixed_length(2)});
  return llm.stats().chunk_tokens_computed;
}

void require_no_chunk_recompute(const LLM& llm, int64_t before, const std::string& id) {
  check(llm.stats().chunk_tokens_computed == before,
        id + ": chunks were recomputed during a timed run (the KV cache is too small?)");
}

// Decode tok/s of composed prompts at each batch size, cascade on and off.
ScenarioReport shared_decode(const ScenarioOptions& o, ScenarioReport report, const SharedShape& s,
                             const std::vector<int>& batches) {
  const auto cost = ModelCost::of(bench_geometry(report.geometry), o.device.value_bytes);
  const int max_batch = *std::max_element(batches.begin(), batches.end());
  std::vector<Measurement> on, off;
  for (bool cascade : {true, false}) {
    EngineConfig c = shared_config(o, s, max_batch);
    c.enable_cascade_attention = cascade;
    LLM llm(random_bench_model(report.geometry, o.cache_dir), c);
    const int vocab = plain_vocab(llm);
    const auto chunks = random_chunks(s, vocab);
    const int64_t computed = fill_chunks(llm, chunks, s.own_tokens);
    for (int batch : batches) {
      Measurement m{.name = "decode tok/s batch " + std::to_string(batch) + " cascade " +
                            (cascade ? "on" : "off"),
                    .unit = "tok/s"};
      m.params = {{"batch", batch}, {"cascade", cascade}};
      std::vector<double> seconds;
      for (int r = 0; r < o.repeats; ++r) {
        const auto prompts = composed_prompts(chunks, batch, s.own_tokens, vocab,
                                              static_cast<uint32_t>(100 * batch + r));
        const auto t = run_batch(
            llm, prompts,
            std::vector<SamplingParams>(static_cast<size_t>(batch), fixed_length(s.output_tokens)));
        seconds.push_back(t.total_s - t.first_token_s);
        m.runs.push_back(batch * (s.output_tokens - 1.0) / seconds.back());
      }
      require_no_chunk_recompute(llm, computed, report.id);
      const Work work =
          shared_decode_work(cost, batch, s.shared(), s.own_tokens, s.output_tokens, cascade);
      m.floor = batch * (s.output_tokens - 1.0) / floor_seconds(work, o.device.peaks);
      m.bytes_moved = work.bytes;
      m.seconds_per_run = median_of(seconds);
      (cascade ? on : off).push_back(m);
    }
  }
  for (size_t i = 0; i < batches.size(); ++i) {
    report.measurements.push_back(on[i]);
    report.measurements.push_back(off[i]);
    report.variants.push_back({"cascade on / off, batch " + std::to_string(batches[i]),
                               on[i].median() / off[i].median()});
    // Each batch runs once per variant per repeat.
    report.prompt_tokens += 2 * batches[i] * (s.shared() + s.own_tokens);
    report.output_tokens += 2 * batches[i] * s.output_tokens;
  }
  report.workload = {{"chunks", s.num_chunks},     {"chunk_tokens", s.chunk_tokens},
                     {"own_tokens", s.own_tokens}, {"output_tokens", s.output_tokens},
                     {"batches", batches},         {"chunk_mode", "compositional"}};
  return report;
}

}  // namespace

ScenarioReport run_b2_shared_context_decode(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B2", .title = "shared-context decode"};
  report.geometry = o.geometry_or("qwen3-0.6b");
  std::vector<int> batches;
  for (int b : o.b2_batches) batches.push_back(scaled(b, o.scale));
  const SharedShape s{8, scaled(2048, o.scale), scaled(64, o.scale), scaled(128, o.scale, 2)};
  return shared_decode(o, std::move(report), s, batches);
}

ScenarioReport run_b3_short_sharing(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B3", .title = "no loss on short sharing"};
  report.geometry = o.geometry_or("qwen3-0.6b");
  const SharedShape s{1, scaled(128, o.scale), scaled(64, o.scale), scaled(256, o.scale, 2)};
  return shared_decode(o, std::move(report), s, {scaled(64, o.scale)});
}

ScenarioReport run_b4_time_to_first_token(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B4", .title = "time to first token from cached chunks"};
  report.geometry = o.geometry_or("qwen3-0.6b");
  const SharedShape s{8, scaled(2048, o.scale), scaled(64, o.scale), 1};
  const std::string model = random_bench_model(report.geometry, o.cache_dir);
  const auto cost = ModelCost::of(bench_geometry(report.geometry), o.device.value_bytes);
  auto ttft = [&](const std::string& name, const Work& work) {
    Measurement m{.name = name, .unit = "ms", .higher_is_better = false};
    m.floor = 1e3 * floor_seconds(work, o.device.peaks);
    m.bytes_moved = work.bytes;
    return m;
  };
  Measurement cached =
      ttft("time to first token, cached chunks", first_token_work(cost, s.own_tokens, s.shared()));
  Measurement cold = ttft("time to first token, cold (full prefill)",
                          first_token_work(cost, s.shared() + s.own_tokens, 0));
  EngineConfig c = shared_config(o, s, 1);
  c.max_num_batched_tokens = std::max(c.max_num_batched_tokens, s.shared() + s.own_tokens);
  {
    LLM llm(model, c);
    const int vocab = plain_vocab(llm);
    const auto chunks = random_chunks(s, vocab);
    const int64_t computed = fill_chunks(llm, chunks, s.own_tokens);
    // A warm-up request, as the cold engine has: without it one repeat per process took
    // 24-34 ms against ~5.5 (H200, 2026-12-02), most likely the first question step alone
    // over the cached chunks paying one-time costs.
    run_batch(llm, composed_prompts(chunks, 1, s.own_tokens, vocab, 10), {fixed_length(1)});
    StepProfile::instance().reset();  // CASCADE_PROFILE's table: the timed requests only
    for (int r = 0; r < o.repeats; ++r) {
      const auto t = run_batch(llm, composed_prompts(chunks, 1, s.own_tokens, vocab, 20 + r),
                               {fixed_length(1)});
      cached.runs.push_back(1e3 * t.first_token_s);
    }
    require_no_chunk_recompute(llm, computed, report.id);
  }
  {
    LLM llm(model, c);  // prefix caching is off: every repeat prefills the whole prompt
    const int vocab = plain_vocab(llm);
    const auto chunks = random_chunks(s, vocab);
    run_batch(llm, {Prompt{.token_ids = chunks[0].token_ids}}, {fixed_length(1)});  // warm-up
    StepProfile::instance().reset();
    for (int r = 0; r < o.repeats; ++r) {
      Prompt plain = composed_prompts(chunks, 1, s.own_tokens, vocab, 40 + r)[0];
      std::vector<int32_t> ids;
      for (const auto& chunk : plain.chunks) {
        ids.insert(ids.end(), chunk.token_ids.begin(), chunk.token_ids.end());
      }
      ids.insert(ids.end(), plain.token_ids.begin(), plain.token_ids.end());
      const auto t = run_batch(llm, {Prompt{.token_ids = ids}}, {fixed_length(1)});
      cold.runs.push_back(1e3 * t.first_token_s);
    }
  }
  for (auto* m : {&cached, &cold}) m->seconds_per_run = m->median() / 1e3;
  report.measurements = {cached, cold};
  report.variants.push_back({"cold / cached", cold.median() / cached.median()});
  report.prompt_tokens = 2 * (s.shared() + s.own_tokens);
  report.output_tokens = 2;
  report.workload = {{"chunks", s.num_chunks},
                     {"chunk_tokens", s.chunk_tokens},
                     {"own_tokens", s.own_tokens},
                     {"cold", "the same tokens as one plain prompt, prefix caching off"}};
  return report;
}

ScenarioReport run_b5_memory(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B5", .title = "KV memory with chunk dedup"};
  report.geometry = o.geometry_or("qwen3-0.6b");
  DedupWorkload w;
  w.num_requests = scaled(64, o.scale);
  w.chunk_tokens = scaled(2048, o.scale);
  w.question_tokens = scaled(64, o.scale);
  w.output_tokens = 2;  // a decode step after the prefill (pages are read after the prefill)
  const DedupResult r =
      measure_dedup(random_bench_model(report.geometry, o.cache_dir), w, o.engine());
  const auto cost = ModelCost::of(bench_geometry(report.geometry), o.device.value_bytes);
  const double per_request = w.chunks_per_request * w.chunk_tokens + w.question_tokens;
  auto bytes = [&](std::string name, int64_t pages, double ideal_tokens) {
    Measurement m{.name = std::move(name), .unit = "bytes", .higher_is_better = false};
    m.runs = {static_cast<double>(pages * r.bytes_per_page)};
    m.floor = ideal_tokens * cost.kv_bytes_per_token;
    return m;
  };
  report.measurements.push_back(bytes(
      "KV held after prefill, dedup", r.prefill_pages_dedup,
      w.num_chunks * w.chunk_tokens + w.num_requests * static_cast<double>(w.question_tokens)));
  report.measurements.push_back(bytes("KV held after prefill, no dedup", r.prefill_pages_plain,
                                      w.num_requests * per_request));
  report.variants.push_back({"dedup / no-dedup", static_cast<double>(r.prefill_pages_dedup) /
                                                     static_cast<double>(r.prefill_pages_plain)});
  report.variants.push_back({"dedup / no-dedup, ideal (no page rounding)",
                             report.measurements[0].floor / report.measurements[1].floor});
  report.prompt_tokens = 2 * static_cast<int64_t>(w.num_requests * per_request);
  report.output_tokens = 2 * w.num_requests * w.output_tokens;
  report.workload = {{"requests", w.num_requests},
                     {"chunks", w.num_chunks},
                     {"chunks_per_request", w.chunks_per_request},
                     {"chunk_tokens", w.chunk_tokens},
                     {"question_tokens", w.question_tokens},
                     {"runs", "1 (page counts are deterministic)"}};
  return report;
}

}  // namespace cascade

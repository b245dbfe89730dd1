// B1 (offline throughput), B6 (single-stream decode) and B7 (CPU default): plain prompts of
// random token ids, prefix caching off so that repeats compute.
#include <algorithm>
#include <random>

#include "frontend/bench_floor.h"
#include "frontend/bench_model.h"
#include "frontend/bench_run.h"
#include "frontend/bench_scenarios.h"
#include "frontend/python_random.h"

namespace cascade {
namespace {

std::vector<Prompt> plain_prompts(std::mt19937& rng, int batch, int prompt_len, int vocab) {
  std::vector<Prompt> prompts;
  for (int b = 0; b < batch; ++b) {
    prompts.push_back(Prompt{.token_ids = random_token_ids(rng, prompt_len, vocab)});
  }
  return prompts;
}

void warm_up(LLM& llm) {
  std::mt19937 rng(7);
  run_batch(llm, plain_prompts(rng, 1, 8, plain_vocab(llm)), {fixed_length(4)});
}

// Prefill and decode tok/s of `batch` prompts of `prompt_len` tokens generating `output`.
struct PlainRuns {
  std::vector<double> prefill_tok_s, decode_tok_s, prefill_s, decode_s;
};

PlainRuns time_plain(LLM& llm, int batch, int prompt_len, int output, int repeats) {
  PlainRuns runs;
  for (int r = 0; r < repeats; ++r) {
    std::mt19937 rng(static_cast<uint32_t>(1000 * batch + r));
    const auto t =
        run_batch(llm, plain_prompts(rng, batch, prompt_len, plain_vocab(llm)),
                  std::vector<SamplingParams>(static_cast<size_t>(batch), fixed_length(output)));
    const double decode_s = t.total_s - t.first_token_s;
    runs.prefill_s.push_back(t.first_token_s);
    runs.decode_s.push_back(decode_s);
    runs.prefill_tok_s.push_back(batch * static_cast<double>(prompt_len) / t.first_token_s);
    runs.decode_tok_s.push_back(batch * (output - 1.0) / decode_s);
  }
  return runs;
}

Measurement throughput(std::string name, std::vector<double> runs, const Work& work, double tokens,
                       const Peaks& peaks, const std::vector<double>& seconds) {
  Measurement m{.name = std::move(name), .unit = "tok/s", .runs = std::move(runs)};
  m.floor = tokens / floor_seconds(work, peaks);
  m.bytes_moved = work.bytes;
  m.seconds_per_run = median_of(seconds);
  return m;
}

EngineConfig plain_config(const ScenarioOptions& o, int batch, int max_len, int pages) {
  EngineConfig c = o.engine();
  c.enable_prefix_caching = false;
  c.max_num_seqs = std::max(batch, 1);
  c.max_model_len = max_len;
  c.num_kv_pages = pages;
  return c;
}

}  // namespace

ScenarioReport run_b1_offline_throughput(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B1", .title = "offline throughput (nano-vllm's benchmark)"};
  report.geometry = o.geometry_or("qwen3-0.6b");
  // nano-vllm's bench.py: seed(0); 256 prompts of randint(100, 1024) ids randint(0, 10000),
  // then 256 output lengths randint(100, 1024). Scaled runs take the first sequences and
  // scale their lengths.
  PythonRandom py(0);
  std::vector<std::vector<int32_t>> ids(256);
  for (auto& seq : ids) {
    seq.resize(static_cast<size_t>(py.randint(100, 1024)));
    for (auto& id : seq) id = py.randint(0, 10000);
  }
  std::vector<int> outputs(256);
  for (auto& n : outputs) n = py.randint(100, 1024);
  const int num_seqs = std::min(256, scaled(256, o.scale));
  std::vector<int> prompt_lens, output_lens, totals;
  for (int i = 0; i < num_seqs; ++i) {
    prompt_lens.push_back(scaled(static_cast<int>(ids[static_cast<size_t>(i)].size()), o.scale));
    output_lens.push_back(scaled(outputs[static_cast<size_t>(i)], o.scale, 2));
    totals.push_back(prompt_lens.back() + output_lens.back());
  }
  // The pages every sequence needs at once, and at least one sequence of max_model_len.
  EngineConfig c = plain_config(o, num_seqs, 4096, std::max(pages_for(totals, 16), 4096 / 16));
  c.max_num_batched_tokens = 16384;  // nano-vllm's default
  LLM llm(random_bench_model(report.geometry, o.cache_dir), c);
  const int vocab = plain_vocab(llm);
  std::vector<Prompt> prompts;
  std::vector<SamplingParams> params;
  for (int i = 0; i < num_seqs; ++i) {
    auto seq = ids[static_cast<size_t>(i)];
    seq.resize(static_cast<size_t>(prompt_lens[static_cast<size_t>(i)]));
    for (auto& id : seq) id %= vocab;
    prompts.push_back(Prompt{.token_ids = std::move(seq)});
    SamplingParams p = fixed_length(output_lens[static_cast<size_t>(i)]);
    p.temperature = 0.6f;
    p.seed = static_cast<uint64_t>(i);
    params.push_back(p);
  }
  for (int i = 0; i < num_seqs; ++i) {
    report.prompt_tokens += prompt_lens[static_cast<size_t>(i)];
    report.output_tokens += output_lens[static_cast<size_t>(i)];
  }
  report.workload = {{"sequences", num_seqs},
                     {"prompt_lengths", "randint(100, 1024), Python seed 0"},
                     {"output_lengths", "randint(100, 1024)"},
                     {"temperature", 0.6},
                     {"max_num_batched_tokens", c.max_num_batched_tokens},
                     {"max_model_len", c.max_model_len}};
  warm_up(llm);
  std::vector<double> tok_s, seconds;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t = run_batch(llm, prompts, params);
    seconds.push_back(t.total_s);
    tok_s.push_back(static_cast<double>(t.output_tokens) / t.total_s);
  }
  const auto cost = ModelCost::of(bench_geometry(report.geometry), o.device.value_bytes);
  report.measurements.push_back(
      throughput("output tok/s", tok_s, b1_work(cost, prompt_lens, output_lens),
                 static_cast<double>(report.output_tokens), o.device.peaks, seconds));
  return report;
}

ScenarioReport run_b6_single_stream(const ScenarioOptions& o) {
  ScenarioReport report{.id = "B6", .title = "single-stream decode latency"};
  report.geometry = o.geometry_or("qwen2.5-0.5b");
  const int prompt = 16, output = scaled(1024, o.scale, 2);
  report.workload = {{"batch", 1}, {"prompt_tokens", prompt}, {"output_tokens", output}};
  report.prompt_tokens = prompt;
  report.output_tokens = output;
  LLM llm(random_bench_model(report.geometry, o.cache_dir),
          plain_config(o, 1, prompt + output + 16, pages_for({prompt + output}, 16)));
  warm_up(llm);
  const PlainRuns runs = time_plain(llm, 1, prompt, output, o.repeats);
  const auto cost = ModelCost::of(bench_geometry(report.geometry), o.device.value_bytes);
  report.measurements.push_back(throughput("decode tok/s", runs.decode_tok_s,
                                           batch_decode_work(cost, 1, prompt, output), output - 1.0,
                                           o.device.peaks, runs.decode_s));
  return report;
}

std::vector<ScenarioReport> run_b7_cpu_default(const ScenarioOptions& options) {
  // B7 is the CPU by definition: it runs there whatever --device says.
  ScenarioOptions o = options;
  if (o.device.name != "cpu") o.device = resolve_bench_device("cpu", o.threads, 0, 0);
  const int prompt = scaled(128, o.scale, 2), output = scaled(32, o.scale, 2);
  std::vector<int> batches{1};
  if (scaled(16, o.scale) > 1) batches.push_back(scaled(16, o.scale));
  std::vector<std::string> geometries{"cascade-tiny", "qwen3-0.6b"};
  if (!o.geometry.empty()) geometries = {o.geometry};
  std::vector<ScenarioReport> reports;
  for (const auto& geometry : geometries) {
    ScenarioReport report{.id = "B7", .title = "CPU embedded default", .geometry = geometry};
    report.workload = {{"batches", batches},
                       {"prompt_tokens", prompt},
                       {"output_tokens", output},
                       {"device", "cpu"}};
    const int max_batch = *std::max_element(batches.begin(), batches.end());
    EngineConfig c = plain_config(
        o, max_batch, prompt + output + 16,
        pages_for(std::vector<int>(static_cast<size_t>(max_batch), prompt + output), 16));
    c.device = "cpu";
    c.max_num_batched_tokens = std::max(c.max_num_batched_tokens, max_batch * prompt);
    LLM llm(random_bench_model(geometry, o.cache_dir), c);
    warm_up(llm);
    const auto cost = ModelCost::of(bench_geometry(geometry), o.device.value_bytes);
    for (int batch : batches) {
      const PlainRuns runs = time_plain(llm, batch, prompt, output, o.repeats);
      const std::string tag = " batch " + std::to_string(batch);
      report.measurements.push_back(throughput(
          "prefill tok/s" + tag, runs.prefill_tok_s, batch_prefill_work(cost, batch, prompt),
          batch * static_cast<double>(prompt), o.device.peaks, runs.prefill_s));
      report.measurements.push_back(throughput(
          "decode tok/s" + tag, runs.decode_tok_s, batch_decode_work(cost, batch, prompt, output),
          batch * (output - 1.0), o.device.peaks, runs.decode_s));
      report.prompt_tokens += batch * prompt;
      report.output_tokens += batch * output;
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace cascade

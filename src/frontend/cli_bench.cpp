// `cascade bench speed`: prefill and decode tokens per second at given batch sizes, on a
// model folder or on random weights in a named geometry. Timings are medians of repeats.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <set>

#include "base/error.h"
#include "cascade/llm.h"
#include "frontend/bench_scenarios.h"
#include "frontend/cli.h"
#include "frontend/cli_flags.h"
#include "frontend/dedup_bench.h"
#include "model/random_checkpoint.h"
#include "text/tokenizer.h"

namespace cascade {
namespace {

struct SpeedArgs {
  std::string model;
  std::string geometry;
  std::string tokenizer;
  std::string cache_dir = ".deps/models";
  std::vector<int> batches{1, 16};
  int prompt_len = 128;
  int output_len = 32;
  int repeats = 3;
  EngineConfig engine;
};

struct Timing {
  double prefill_tok_s;
  double decode_tok_s;
};

Timing time_once(LLM& llm, int batch, int prompt_len, int output_len, uint32_t seed) {
  std::mt19937 rng(seed);
  // Token ids uniform in [0, 10000) as nano-vllm's benchmark, or the whole of a smaller vocabulary.
  const auto id_range = static_cast<uint32_t>(std::min(10000, llm.tokenizer().vocab_size()));
  SamplingParams p;
  p.temperature = 0;
  p.ignore_eos = true;
  p.max_tokens = output_len;
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < batch; ++b) {
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
    for (auto& t : prompt) t = static_cast<int32_t>(rng() % id_range);
    llm.add_request(Prompt{.token_ids = std::move(prompt)}, p);
  }
  std::set<int64_t> started;  // requests with their first token
  auto t_prefill = t0;
  while (llm.has_unfinished()) {
    for (const auto& out : llm.step()) {
      if (!out.token_ids_delta.empty() && started.insert(out.request_id).second &&
          std::ssize(started) == batch) {
        t_prefill = std::chrono::steady_clock::now();
      }
    }
  }
  const auto t_end = std::chrono::steady_clock::now();
  const double prefill_s = std::chrono::duration<double>(t_prefill - t0).count();
  const double decode_s = std::chrono::duration<double>(t_end - t_prefill).count();
  return {batch * prompt_len / prefill_s, batch * (output_len - 1) / decode_s};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_speed(SpeedArgs args) {
  std::string model = args.model;
  if (model.empty()) {
    const ModelConfig geometry = geometry_preset(args.geometry);
    model = args.cache_dir + "/" + args.geometry + "-random";
    if (!std::filesystem::exists(model + "/model.safetensors")) {
      check(!args.tokenizer.empty(), "bench: --tokenizer DIR is needed to make " + model);
      std::fprintf(stderr, "writing random %s weights to %s ...\n", args.geometry.c_str(),
                   model.c_str());
      write_random_checkpoint(geometry, model, args.tokenizer, 1);
    }
  }
  auto& c = args.engine;
  c.enable_prefix_caching = false;  // repeats must compute, not hit the cache
  const int max_batch = *std::max_element(args.batches.begin(), args.batches.end());
  c.max_num_seqs = std::max(c.max_num_seqs, max_batch);
  c.max_num_batched_tokens = std::max(c.max_num_batched_tokens, max_batch * args.prompt_len);
  c.max_model_len = std::min(c.max_model_len, args.prompt_len + args.output_len + 16);
  LLM llm(model, c);
  time_once(llm, 1, 8, 4, 0);  // warm-up
  std::printf("model %s  device %s  prompt %d  output %d  repeats %d\n", model.c_str(),
              c.device.c_str(), args.prompt_len, args.output_len, args.repeats);
  std::printf("%6s %16s %16s %16s %16s\n", "batch", "prefill tok/s", "(min..max)", "decode tok/s",
              "(min..max)");
  for (int batch : args.batches) {
    std::vector<double> prefill, decode;
    for (int r = 0; r < args.repeats; ++r) {
      const Timing t = time_once(llm, batch, args.prompt_len, args.output_len,
                                 static_cast<uint32_t>(1000 * batch + r));
      prefill.push_back(t.prefill_tok_s);
      decode.push_back(t.decode_tok_s);
    }
    const auto [pmin, pmax] = std::minmax_element(prefill.begin(), prefill.end());
    const auto [dmin, dmax] = std::minmax_element(decode.begin(), decode.end());
    std::printf("%6d %16.1f %7.1f..%-8.1f %16.1f %7.1f..%-8.1f\n", batch, median(prefill), *pmin,
                *pmax, median(decode), *dmin, *dmax);
  }
}

}  // namespace

void add_dedup_command(CLI::App& bench) {
  struct DedupArgs {
    std::string model;
    DedupWorkload workload;
    EngineConfig engine;
  };
  auto args = std::make_shared<DedupArgs>();
  auto* cmd = bench.add_subcommand("dedup", "KV bytes with and without chunk dedup (B5)");
  cmd->add_option("--model", args->model, "Hugging Face model folder")->required();
  auto& w = args->workload;
  cmd->add_option("--requests", w.num_requests)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--chunks", w.num_chunks)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--per-request", w.chunks_per_request)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--chunk-tokens", w.chunk_tokens)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--question-tokens", w.question_tokens)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--output-tokens", w.output_tokens)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_engine_flags(*cmd, args->engine);
  cmd->callback([args] {
    const DedupResult r = measure_dedup(args->model, args->workload, args->engine);
    const auto& load = args->workload;
    std::printf("%d requests, each %d of %d chunks of %d tokens + %d question tokens\n",
                load.num_requests, load.chunks_per_request, load.num_chunks, load.chunk_tokens,
                load.question_tokens);
    std::printf("peak KV with dedup    %8lld pages  %12lld bytes\n",
                static_cast<long long>(r.peak_pages_dedup),
                static_cast<long long>(r.peak_pages_dedup * r.bytes_per_page));
    std::printf("peak KV without dedup %8lld pages  %12lld bytes\n",
                static_cast<long long>(r.peak_pages_plain),
                static_cast<long long>(r.peak_pages_plain * r.bytes_per_page));
    std::printf("dedup / no-dedup      %8.2f %%\n", 100.0 * r.ratio());
  });
}

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  add_dedup_command(*bench);
  add_scenarios_command(*bench);
  auto args = std::make_shared<SpeedArgs>();
  auto* speed = bench->add_subcommand("speed", "prefill and decode tok/s at batch sizes");
  auto* model = speed->add_option("--model", args->model, "Hugging Face model folder");
  auto* geometry =
      speed->add_option("--geometry", args->geometry, "random weights: qwen3-0.6b or qwen2.5-0.5b");
  model->excludes(geometry);
  speed->add_option("--tokenizer", args->tokenizer, "tokenizer folder for --geometry");
  speed->add_option("--cache-dir", args->cache_dir, "where random checkpoints are kept");
  speed->add_option("--batch", args->batches, "batch sizes")->delimiter(',');
  speed->add_option("--prompt-len", args->prompt_len)->check(CLI::PositiveNumber);
  speed->add_option("--output-len", args->output_len)->check(CLI::Range(2, 1 << 20));
  speed->add_option("--repeats", args->repeats)->check(CLI::PositiveNumber);
  add_engine_flags(*speed, args->engine);
  speed->callback([args, model, geometry] {
    check(model->count() + geometry->count() == 1, "bench speed: give --model or --geometry");
    run_speed(*args);
  });
}

}  // namespace cascade

// `cascade bench scenarios`: B1–B7 on random weights, with floors, ratios, variant ratios,
// the spread of repeats and workload checksums; optionally as JSON (--json FILE).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "frontend/bench_model.h"
#include "frontend/bench_scenarios.h"

namespace cascade {
namespace {

struct ScenariosArgs {
  std::vector<std::string> scenarios{"all"};
  std::string device = "auto";
  std::string json_path;
  double peak_gbs = 0;
  double peak_tflops = 0;
  ScenarioOptions options;
};

// The commit of the working folder (with "+dirty" for uncommitted changes), or "unknown".
std::string git_commit() {
  auto run = [](const char* command) {
    std::string out;
    if (FILE* p = popen(command, "r")) {
      char buf[128];
      while (std::fgets(buf, sizeof buf, p)) out += buf;
      if (pclose(p) != 0) return std::string();
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  const std::string commit = run("git rev-parse --short HEAD 2>/dev/null");
  if (commit.empty()) return "unknown";
  const bool dirty = !run("git status --porcelain --untracked-files=no 2>/dev/null").empty();
  return commit + (dirty ? "+dirty" : "");
}

std::vector<std::string> selected(const std::vector<std::string>& requested) {
  std::vector<std::string> ids;
  for (const auto& id : requested) {
    if (id == "all") return scenario_ids();
    const auto known = scenario_ids();
    check(std::find(known.begin(), known.end(), id) != known.end(),
          "--scenario: unknown scenario '" + id + "' (known: B1..B7, all)");
    ids.push_back(id);
  }
  return ids;
}

void run_scenarios(ScenariosArgs& args) {
  const auto ids = selected(args.scenarios);
  if (!args.options.geometry.empty()) bench_geometry(args.options.geometry);  // fail early
  auto& o = args.options;
  o.device = resolve_bench_device(args.device, o.threads, args.peak_gbs, args.peak_tflops);
  if (o.tensor_parallel_size > 1) {
    // The floor of a sharded model: its bytes and FLOPs spread over every GPU's peaks.
    o.device.peaks.bytes_per_s *= o.tensor_parallel_size;
    o.device.peaks.flops_per_s *= o.tensor_parallel_size;
    o.device.peaks_source += " x " + std::to_string(o.tensor_parallel_size) + " GPUs";
  }
  BenchMeta meta{.date = utc_now_iso8601(),
                 .commit = git_commit(),
                 .device = o.device.name,
                 .device_description = o.device.description,
                 .peak_gbs = o.device.peaks.bytes_per_s / 1e9,
                 .peak_tflops = o.device.peaks.flops_per_s / 1e12,
                 .peaks_source = o.device.peaks_source,
                 .scale = o.scale,
                 .repeats = o.repeats,
                 .tensor_parallel_size = o.tensor_parallel_size};
  std::printf("cascade bench scenarios  %s  commit %s  device %s (%s)\n", meta.date.c_str(),
              meta.commit.c_str(), meta.device.c_str(), meta.device_description.c_str());
  std::printf(
      "peaks for floors: %.1f GB/s, %.2f TFLOP/s (%s); %d repeats%s\n", meta.peak_gbs,
      meta.peak_tflops, meta.peaks_source.c_str(), o.repeats,
      o.scale == 1 ? "" : "; SCALED workload (--scale), not comparable with the full figures");
  std::vector<ScenarioReport> reports;
  for (const auto& id : ids) {
    for (auto& report : run_scenario(id, o)) {
      print_scenario(report, o.scale);
      reports.push_back(std::move(report));
    }
    std::fflush(stdout);
  }
  if (!args.json_path.empty()) {
    std::ofstream f(args.json_path);
    f << report_json(meta, reports).dump(2) << "\n";
    check(static_cast<bool>(f), "--json: cannot write " + args.json_path);
  }
}

}  // namespace

EngineConfig ScenarioOptions::engine() const {
  EngineConfig c;
  c.device = device.name;
  c.num_threads = threads;
  c.tensor_parallel_size = tensor_parallel_size;
  c.cascade_min_shared_tokens = cascade_min_shared_tokens;
  c.enforce_eager = enforce_eager;
  c.async_scheduling = async_scheduling;
  return c;
}

std::vector<std::string> scenario_ids() {
  return {"B1", "B2", "B3", "B4", "B5", "B6", "B7"};
}

std::vector<ScenarioReport> run_scenario(const std::string& id, const ScenarioOptions& o) {
  if (id == "B1") return {run_b1_offline_throughput(o)};
  if (id == "B2") return {run_b2_shared_context_decode(o)};
  if (id == "B3") return {run_b3_short_sharing(o)};
  if (id == "B4") return {run_b4_time_to_first_token(o)};
  if (id == "B5") return {run_b5_memory(o)};
  if (id == "B6") return {run_b6_single_stream(o)};
  if (id == "B7") return run_b7_cpu_default(o);
  throw Error("--scenario: unknown scenario '" + id + "'");
}

void add_scenarios_command(CLI::App& bench) {
  auto args = std::make_shared<ScenariosArgs>();
  auto& o = args->options;
  auto* cmd = bench.add_subcommand(
      "scenarios", "B1-B7 on random weights: figures, floors, ratios (docs/BENCHMARKS.md)");
  cmd->add_option("--scenario", args->scenarios, "B1..B7 or all, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--geometry", o.geometry,
                  "one geometry for every scenario (qwen3-0.6b, qwen2.5-0.5b, cascade-tiny, "
                  "tiny); default: each scenario's own");
  cmd->add_option("--device", args->device, "auto, cpu or cuda")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tensor-parallel-size", o.tensor_parallel_size,
                  "GPUs per model (floors use the peaks of all of them)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--cascade-min-shared-tokens", o.cascade_min_shared_tokens,
                  "shorter shared levels are read per sequence (EngineConfig; -1: the backend's)")
      ->check(CLI::Range(-1, std::numeric_limits<int>::max()))
      ->capture_default_str();
  cmd->add_flag("--enforce-eager", o.enforce_eager, "no CUDA graphs for decode steps");
  cmd->add_flag("!--no-async-scheduling", o.async_scheduling,
                "wait for each step before scheduling the next");
  cmd->add_option("--repeats", o.repeats)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--scale", o.scale, "shrink lengths and batches (smoke runs)")
      ->check(CLI::Range(1e-4, 1.0))
      ->capture_default_str();
  cmd->add_option("--b2-batches", o.b2_batches, "B2 batch sizes")
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--json", args->json_path, "also write the results as JSON to FILE");
  cmd->add_option("--peak-gbs", args->peak_gbs, "device copy bandwidth for floors (GB/s)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--peak-tflops", args->peak_tflops, "device FLOP/s for floors (TFLOP/s)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cache-dir", o.cache_dir, "where random checkpoints are kept")
      ->capture_default_str();
  cmd->callback([args] { run_scenarios(*args); });
}

}  // namespace cascade

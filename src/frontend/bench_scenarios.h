// The benchmark scenarios B1–B7 (the project brief; as implemented:
// docs/BENCHMARKS.md), each on random weights in its geometry, with floors for the same work.
#pragma once

#include <string>
#include <vector>

#include "cascade/engine_config.h"
#include "frontend/bench_device.h"
#include "frontend/bench_report.h"

namespace CLI {
class App;
}

namespace cascade {

struct ScenarioOptions {
  std::string geometry;  // empty: each scenario's own
  std::string cache_dir = ".deps/models";
  double scale = 1;
  int repeats = 3;
  std::vector<int> b2_batches{16, 64, 128};
  int threads = 0;               // CPU threads; 0 = all cores
  int tensor_parallel_size = 1;  // GPUs per model (CUDA)
  int cascade_min_shared_tokens = EngineConfig{}.cascade_min_shared_tokens;
  bool enforce_eager = false;
  bool async_scheduling = true;
  BenchDevice device;

  // `fallback` unless --geometry overrides it.
  const std::string& geometry_or(const std::string& fallback) const {
    return geometry.empty() ? fallback : geometry;
  }
  EngineConfig engine() const;  // device and threads set; the rest the scenario sizes
};

std::vector<std::string> scenario_ids();  // B1 .. B7
// Runs the scenario `id` and returns its report (Error for an unknown id).
std::vector<ScenarioReport> run_scenario(const std::string& id, const ScenarioOptions& options);

ScenarioReport run_b1_offline_throughput(const ScenarioOptions& options);
ScenarioReport run_b2_shared_context_decode(const ScenarioOptions& options);
ScenarioReport run_b3_short_sharing(const ScenarioOptions& options);
ScenarioReport run_b4_time_to_first_token(const ScenarioOptions& options);
ScenarioReport run_b5_memory(const ScenarioOptions& options);
ScenarioReport run_b6_single_stream(const ScenarioOptions& options);
std::vector<ScenarioReport> run_b7_cpu_default(const ScenarioOptions& options);

// `cascade bench scenarios`.
void add_scenarios_command(CLI::App& bench);

}  // namespace cascade

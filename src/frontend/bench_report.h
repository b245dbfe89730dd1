// What `cascade bench scenarios` reports: per scenario, its measurements (a figure per
// repeat, the floor for the same work, the ratio median/floor, achieved GB/s), the ratios
// of its variants, and the workload checksum; printed as a table and written as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cascade {

struct Measurement {
  std::string name;  // e.g. "decode batch 128 cascade on"
  std::string unit;  // "tok/s", "ms", "bytes"
  bool higher_is_better = true;
  std::vector<double> runs;    // one figure per repeat
  double floor = 0;            // the same unit, for the same work
  double bytes_moved = 0;      // bytes the work had to move (0: not a timing)
  double seconds_per_run = 0;  // median time of the timed part (for achieved GB/s)
  nlohmann::json params = nlohmann::json::object();  // e.g. {"batch": 16, "cascade": true}

  double median() const;
  double min() const;
  double max() const;
  double ratio() const { return median() / floor; }
  double achieved_gbs() const;  // bytes_moved / seconds_per_run / 1e9, 0 when not a timing
};

struct VariantRatio {
  std::string name;  // e.g. "cascade on / off, batch 128"
  double ratio = 0;  // of the two measurements' medians
};

struct ScenarioReport {
  std::string id;     // "B1"
  std::string title;  // "offline throughput"
  std::string geometry;
  nlohmann::json workload;    // the scenario's parameters after scaling
  int64_t prompt_tokens = 0;  // checksum: prompt lengths summed over one repeat
  int64_t output_tokens = 0;  // and output lengths
  std::vector<Measurement> measurements;
  std::vector<VariantRatio> variants;
};

struct BenchMeta {
  std::string date;  // UTC, ISO 8601
  std::string commit;
  std::string device;  // "cpu" / "cuda"
  std::string device_description;
  double peak_gbs = 0;
  double peak_tflops = 0;
  std::string peaks_source;
  double scale = 1;
  int repeats = 0;
  int tensor_parallel_size = 1;
};

// Median of a non-empty list (the mean of the two middle values for an even count).
double median_of(std::vector<double> values);

void print_scenario(const ScenarioReport& report, double scale);
nlohmann::json report_json(const BenchMeta& meta, const std::vector<ScenarioReport>& reports);
std::string utc_now_iso8601();

}  // namespace cascade

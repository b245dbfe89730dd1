#include "frontend/bench_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace cascade {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Measurement::median() const {
  return median_of(runs);
}
double Measurement::min() const {
  return *std::min_element(runs.begin(), runs.end());
}
double Measurement::max() const {
  return *std::max_element(runs.begin(), runs.end());
}
double Measurement::achieved_gbs() const {
  return seconds_per_run > 0 ? bytes_moved / seconds_per_run / 1e9 : 0;
}

void print_scenario(const ScenarioReport& r, double scale) {
  char scale_note[48] = "";
  if (scale != 1) std::snprintf(scale_note, sizeof scale_note, ", SCALED x%g", scale);
  std::printf("\n%s %s  [%s%s]\n", r.id.c_str(), r.title.c_str(), r.geometry.c_str(), scale_note);
  std::printf("  workload %s\n  checksum: %lld prompt tokens, %lld output tokens\n",
              r.workload.dump().c_str(), static_cast<long long>(r.prompt_tokens),
              static_cast<long long>(r.output_tokens));
  for (const auto& m : r.measurements) {
    std::printf("  %-36s %12.4g %-6s (%.4g..%.4g, %zu runs)  floor %.4g  ratio %6.2f %%",
                m.name.c_str(), m.median(), m.unit.c_str(), m.min(), m.max(), m.runs.size(),
                m.floor, 100 * m.ratio());
    if (m.seconds_per_run > 0) std::printf("  %.1f GB/s", m.achieved_gbs());
    std::printf("\n");
  }
  for (const auto& v : r.variants) std::printf("  %-36s %12.4g x\n", v.name.c_str(), v.ratio);
}

nlohmann::json report_json(const BenchMeta& meta, const std::vector<ScenarioReport>& reports) {
  using nlohmann::json;
  json scenarios = json::array();
  for (const auto& r : reports) {
    json measurements = json::array();
    for (const auto& m : r.measurements) {
      measurements.push_back(
          {{"name", m.name},
           {"unit", m.unit},
           {"higher_is_better", m.higher_is_better},
           {"median", m.median()},
           {"min", m.min()},
           {"max", m.max()},
           {"runs", m.runs},
           {"floor", m.floor},
           {"ratio", m.ratio()},
           {"bytes_moved", m.bytes_moved},
           {"seconds_per_run", m.seconds_per_run},
           {"params", m.params},
           {"achieved_gbs", m.seconds_per_run > 0 ? json(m.achieved_gbs()) : json(nullptr)}});
    }
    json variants = json::array();
    for (const auto& v : r.variants) variants.push_back({{"name", v.name}, {"ratio", v.ratio}});
    scenarios.push_back(
        {{"id", r.id},
         {"title", r.title},
         {"geometry", r.geometry},
         {"workload", r.workload},
         {"checksum", {{"prompt_tokens", r.prompt_tokens}, {"output_tokens", r.output_tokens}}},
         {"measurements", measurements},
         {"variants", variants}});
  }
  return {{"meta",
           {{"date", meta.date},
            {"commit", meta.commit},
            {"device", meta.device},
            {"device_description", meta.device_description},
            {"peak_gbs", meta.peak_gbs},
            {"peak_tflops", meta.peak_tflops},
            {"peaks_source", meta.peaks_source},
            {"scale", meta.scale},
            {"repeats", meta.repeats},
            {"tensor_parallel_size", meta.tensor_parallel_size}}},
          {"scenarios", scenarios}};
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cascade

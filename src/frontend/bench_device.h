// The device a benchmark runs on: its resolved name ("cpu"/"cuda"), a description for the
// report, the bytes per value its backend stores weights and KV in, and the peak numbers
// floors are computed with: flags when given, else BENCHMARKS.md's H200 ceilings on CUDA
// (4,270 GB/s copy, 790 TFLOP/s bf16) and a short probe on the CPU (the CPU backend's own
// elementwise add for bandwidth and its matrix product for FLOP/s).
#pragma once

#include <string>

#include "frontend/bench_floor.h"

namespace cascade {

struct BenchDevice {
  std::string name;         // "cpu" or "cuda"
  std::string description;  // CPU model / GPU name
  int value_bytes = 4;      // f32 on the CPU backend, bf16 on CUDA
  Peaks peaks;
  std::string peaks_source;  // "flags", "BENCHMARKS.md (H200)" or "probe"
};

// `device`: auto, cpu or cuda; `peak_gbs` / `peak_tflops` <= 0: not given.
BenchDevice resolve_bench_device(const std::string& device, int cpu_threads, double peak_gbs,
                                 double peak_tflops);

}  // namespace cascade

#include "frontend/bench_device.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "base/error.h"
#include "ops/backend_factory.h"

namespace cascade {
namespace {

constexpr double kH200BytesPerS = 4270e9;
constexpr double kH200FlopsPerS = 790e12;

std::string cpu_description() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
}

std::string gpu_description() {
  std::string name;
  if (FILE* p = popen("nvidia-smi --query-gpu=name --format=csv,noheader -i 0 2>/dev/null", "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) name += buf;
    pclose(p);
  }
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return name.empty() ? "CUDA GPU (name unknown)" : name;
}

// Best of a few timings of `op`, in seconds.
template <typename Op>
double best_seconds(Backend& backend, Op op) {
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    op();
    backend.synchronize();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

Peaks probe_peaks(const std::string& device, int threads) {
  auto backend = make_backend(device, threads);
  const DType dtype = backend->compute_dtype();
  Peaks peaks;
  {  // acc += x over 64 MiB per operand: 2 reads and 1 write per element.
    const int64_t n = (64 << 20) / static_cast<int64_t>(dtype_size(dtype));
    const std::vector<float> host(static_cast<size_t>(n), 0.5f);
    Tensor acc = backend->upload(host.data(), DType::F32, {n});
    Tensor x = backend->upload(host.data(), DType::F32, {n});
    const double s = best_seconds(*backend, [&] { backend->add_inplace(acc, x); });
    peaks.bytes_per_s = 3.0 * static_cast<double>(n) * static_cast<double>(dtype_size(dtype)) / s;
  }
  {  // [512, 1024] · [1024, 1024]ᵀ
    const int64_t m = 512, k = 1024, n = 1024;
    const std::vector<float> host(static_cast<size_t>(n * k), 0.5f);
    Tensor x = backend->upload(host.data(), DType::F32, {m, k});
    Tensor w = backend->upload(host.data(), DType::F32, {n, k});
    Tensor out = backend->allocate(dtype, {m, n});
    const double s = best_seconds(*backend, [&] { backend->linear(x, w, Tensor{}, out); });
    peaks.flops_per_s = 2.0 * static_cast<double>(m * n * k) / s;
  }
  return peaks;
}

}  // namespace

BenchDevice resolve_bench_device(const std::string& device, int cpu_threads, double peak_gbs,
                                 double peak_tflops) {
  check(device == "auto" || device == "cpu" || device == "cuda",
        "--device must be auto, cpu or cuda (got '" + device + "')");
  BenchDevice d;
  d.name = device;
  if (device == "auto") d.name = cuda_backend_built() && cuda_device_present() ? "cuda" : "cpu";
  const bool gpu = d.name == "cuda";
  d.description = gpu ? gpu_description() : cpu_description();
  d.value_bytes = gpu ? 2 : 4;
  if (peak_gbs > 0 && peak_tflops > 0) {
    d.peaks = {peak_gbs * 1e9, peak_tflops * 1e12};
    d.peaks_source = "flags";
  } else if (gpu) {
    d.peaks = {kH200BytesPerS, kH200FlopsPerS};
    d.peaks_source = "BENCHMARKS.md (H200)";
  } else {
    d.peaks = probe_peaks(d.name, cpu_threads);
    d.peaks_source = "probe";
  }
  // One flag alone replaces only its own number.
  if (peak_gbs > 0) d.peaks.bytes_per_s = peak_gbs * 1e9;
  if (peak_tflops > 0) d.peaks.flops_per_s = peak_tflops * 1e12;
  if ((peak_gbs > 0) != (peak_tflops > 0)) d.peaks_source += " and flags";
  return d;
}

}  // namespace cascade

#include "base/step_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cascade {

StepProfile& StepProfile::instance() {
  static StepProfile profile;
  return profile;
}

StepProfile::StepProfile() {
  const char* env = std::getenv("CASCADE_PROFILE");
  enabled_ = env != nullptr && std::strcmp(env, "") != 0 && std::strcmp(env, "0") != 0;
}

void StepProfile::add(StepPhase phase, std::chrono::nanoseconds elapsed) {
  ns_[static_cast<size_t>(phase)] += elapsed.count();
  ++entered_[static_cast<size_t>(phase)];
}

namespace {

bool nested(StepPhase phase) {
  return phase == StepPhase::StepInputs || phase == StepPhase::AttentionHost ||
         phase == StepPhase::GraphRecord || phase == StepPhase::GraphLaunch;
}

}  // namespace

void StepProfile::reset() {
  steps_ = 0;
  for (auto& ns : ns_) ns = 0;
  for (auto& n : entered_) n = 0;
}

std::string StepProfile::table() const {
  static constexpr const char* kNames[] = {"add request",
                                           "schedule",
                                           "build batch + plan",
                                           "forward enqueue",
                                           "  of it step inputs",
                                           "  of it attention host",
                                           "  of it graph recording",
                                           "  of it graph launch",
                                           "sample + wait",
                                           "outputs"};
  static_assert(std::size(kNames) == static_cast<size_t>(StepPhase::kCount));
  const auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  int64_t total = 0;
  for (size_t i = 0; i < ns_.size(); ++i) {
    if (!nested(static_cast<StepPhase>(i))) total += ns_[i];
  }
  std::string out = "step profile: " + std::to_string(steps_.load()) + " steps, " +
                    std::to_string(ms(total)) + " ms in the phases below\n";
  for (size_t i = 0; i < ns_.size(); ++i) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %10.1f ms  %8.3f ms/step  %5.1f %%  %8lld times\n",
                  kNames[i], ms(ns_[i]),
                  steps_ ? ms(ns_[i]) / static_cast<double>(steps_.load()) : 0.0,
                  total ? 100.0 * static_cast<double>(ns_[i]) / static_cast<double>(total) : 0.0,
                  static_cast<long long>(entered_[i].load()));
    out += line;
  }
  return out;
}

}  // namespace cascade

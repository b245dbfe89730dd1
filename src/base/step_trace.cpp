#include "base/step_trace.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.h"

namespace cascade {

StepTrace::StepTrace() {
  const char* path = std::getenv("CASCADE_STEP_TRACE");
  if (path == nullptr || *path == '\0') return;
  file_ = std::fopen(path, "w");
  if (file_ == nullptr) {
    throw Error("CASCADE_STEP_TRACE: cannot write " + std::string(path) + ": " +
                std::strerror(errno));
  }
  std::fputs("step,seconds,rows,prefill_tokens,context_tokens\n", file_);
}

StepTrace::~StepTrace() {
  if (file_ != nullptr) std::fclose(file_);
}

void StepTrace::finished(const StepShape& shape) {
  if (file_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  const double seconds =
      std::chrono::duration<double>(now - std::max(last_, shape.launched)).count();
  last_ = now;
  std::fprintf(file_, "%lld,%.9f,%lld,%lld,%lld\n", static_cast<long long>(steps_++), seconds,
               static_cast<long long>(shape.rows), static_cast<long long>(shape.prefill_tokens),
               static_cast<long long>(shape.context_tokens));
}

}  // namespace cascade

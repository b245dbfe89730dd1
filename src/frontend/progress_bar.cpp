#include "frontend/progress_bar.h"

#include <cstdio>
#include <string>

namespace cascade {

void ProgressBar::update(const GenerateProgress& p) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool done = p.num_finished == p.num_requests;
  if (!done && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = p.num_requests ? kWidth * p.num_finished / p.num_requests : kWidth;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\rGenerating [%s%s] %d/%d  %.1fs  prefill %.0f tok/s  decode %.0f tok/s   ",
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), p.num_finished,
               p.num_requests, elapsed, p.prefill_tokens_per_s, p.decode_tokens_per_s);
  std::fflush(stderr);
  drawn_ = true;
}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fprintf(stderr, "\n");
}

}  // namespace cascade

// Calls `stop` on an ordinary thread when SIGINT or SIGTERM arrives. A signal handler may
// only do async-signal-safe things, so it writes a byte to a pipe; the thread waiting on
// the pipe does the rest. Any thread may receive the signal (the BLAS library starts its
// own at load), so this does not rely on signal masks. A second signal exits at once.
#pragma once

#include <functional>
#include <thread>

namespace cascade {

class StopOnSignal {
 public:
  explicit StopOnSignal(std::function<void()> stop);
  ~StopOnSignal();  // restores the default handlers and joins the thread
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  std::thread waiter_;
};

}  // namespace cascade

#include "frontend/server/stop_on_signal.h"

#include <signal.h>
#include <unistd.h>

#include "base/error.h"

namespace cascade {
namespace {

int g_pipe[2] = {-1, -1};  // one server per process

void wake(char reason) {
  [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &reason, 1);
}

volatile sig_atomic_t g_stopping = 0;

extern "C" void on_stop_signal(int) {
  if (g_stopping) ::_exit(130);  // asked twice: do not wait for the stop
  g_stopping = 1;
  wake('s');
}

}  // namespace

StopOnSignal::StopOnSignal(std::function<void()> stop) {
  check(::pipe(g_pipe) == 0, "cannot create the pipe for stop signals");
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  waiter_ = std::thread([stop = std::move(stop)] {
    char reason = 0;
    while (::read(g_pipe[0], &reason, 1) < 0) {
    }
    if (reason == 's') stop();
  });
}

StopOnSignal::~StopOnSignal() {
  wake('q');  // no signal came: let the thread go
  waiter_.join();
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
}

}  // namespace cascade

// A fixed pool of worker threads for the CPU backend's row-parallel ops. parallel_for hands
// each thread one contiguous range of indices; results never depend on the split because
// every index is computed on its own (no reductions across indices).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cascade {

class ThreadPool {
 public:
  // `threads` includes the calling thread; <= 0 picks the machine's core count.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel when n is at
  // least 2 * min_per_range. Rethrows the first exception a range threw.
  void parallel_for(int64_t n, int64_t min_per_range,
                    const std::function<void(int64_t, int64_t)>& fn);

  // Calls fn(i) on thread i for every i < threads() (0: the calling thread), in parallel.
  // Thread i is the same thread on every call, so state bound to a thread (a CUDA device,
  // a tensor-parallel rank) stays with its index. Rethrows the first exception.
  void run_on_each_thread(const std::function<void(int)>& fn);

 private:
  void worker_loop(int index);
  void run_range(int range);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_ranges_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace cascade

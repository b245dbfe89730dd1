#include "ops/cpu/thread_pool.h"

#include <algorithm>

namespace cascade {

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_range(int range) {
  const int64_t begin = job_n_ * range / job_ranges_;
  const int64_t end = job_n_ * (range + 1) / job_ranges_;
  if (begin == end) return;
  try {
    (*job_)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (index >= job_ranges_) continue;  // this job needs fewer threads
    }
    run_range(index);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t min_per_range,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t by_size = n / std::max<int64_t>(1, min_per_range);
  const int ranges = static_cast<int>(std::clamp<int64_t>(by_size, 1, threads()));
  if (ranges == 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_ranges_ = ranges;
    pending_ = ranges - 1;
    error_ = nullptr;
    ++generation_;
  }
  start_.notify_all();
  run_range(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

// With n == threads() and one index per range, range i is index i and runs on worker i.
void ThreadPool::run_on_each_thread(const std::function<void(int)>& fn) {
  parallel_for(threads(), 1, [&fn](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(static_cast<int>(i));
  });
}

}  // namespace cascade

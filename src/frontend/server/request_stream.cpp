#include "frontend/server/request_stream.h"

namespace cascade {

void RequestStream::push(RequestOutput output) {
  {
    std::lock_guard lock(mutex_);
    closed_ = closed_ || output.finished();
    outputs_.push_back(std::move(output));
  }
  ready_.notify_all();
}

void RequestStream::fail(const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    error_ = message;
  }
  ready_.notify_all();
}

std::vector<RequestOutput> RequestStream::pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout, [this] { return !outputs_.empty() || closed_; });
  std::vector<RequestOutput> out(std::make_move_iterator(outputs_.begin()),
                                 std::make_move_iterator(outputs_.end()));
  outputs_.clear();
  return out;
}

bool RequestStream::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::string RequestStream::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace cascade

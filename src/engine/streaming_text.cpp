#include "engine/streaming_text.h"

#include <algorithm>

namespace cascade {

StreamingText::StreamingText(const Tokenizer& tokenizer, std::vector<std::string> stop_strings,
                             bool skip_special_tokens)
    : decoder_(tokenizer, skip_special_tokens), stop_strings_(std::move(stop_strings)) {
  for (const auto& s : stop_strings_) max_stop_length_ = std::max(max_stop_length_, s.size());
}

bool StreamingText::cut_at_stop_string(size_t search_from) {
  size_t best = std::string::npos;
  for (const auto& stop : stop_strings_) {
    const size_t at = text_.find(stop, search_from);
    if (at != std::string::npos) best = std::min(best, at);
  }
  if (best == std::string::npos) return false;
  text_.resize(best);
  stopped_ = true;
  return true;
}

bool StreamingText::add(int32_t token) {
  if (stopped_ || finished_) return stopped_;
  const size_t before = text_.size();
  text_ += decoder_.push(token);
  if (max_stop_length_ == 0) return false;
  // A stop string completed by this token starts at most max_stop_length_ - 1 bytes
  // before the new text.
  const size_t from = before >= max_stop_length_ - 1 ? before - (max_stop_length_ - 1) : 0;
  return cut_at_stop_string(from);
}

void StreamingText::finish() {
  if (finished_) return;
  if (!stopped_) {
    const size_t before = text_.size();
    text_ += decoder_.flush();
    if (max_stop_length_ > 0) {
      cut_at_stop_string(before >= max_stop_length_ - 1 ? before - (max_stop_length_ - 1) : 0);
    }
  }
  finished_ = true;
}

size_t StreamingText::visible_length() const {
  if (stopped_ || finished_ || max_stop_length_ == 0) return text_.size();
  // Hold back what could be the start of a stop string, on a character boundary.
  size_t n = text_.size() >= max_stop_length_ - 1 ? text_.size() - (max_stop_length_ - 1) : 0;
  while (n > 0 && n < text_.size() && (static_cast<unsigned char>(text_[n]) & 0xC0) == 0x80) --n;
  return n;
}

std::string StreamingText::take_delta() {
  const size_t visible = std::max(visible_length(), emitted_);
  std::string delta = text_.substr(emitted_, visible - emitted_);
  emitted_ = visible;
  return delta;
}

}  // namespace cascade

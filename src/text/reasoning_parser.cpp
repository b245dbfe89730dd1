#include "text/reasoning_parser.h"

namespace cascade {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(bool starts_in_reasoning)
    : state_(starts_in_reasoning ? State::OpenNewlines : State::Start) {}

ReasoningSplit ReasoningParser::push(std::string_view text) {
  pending_ += text;
  return run(false);
}

ReasoningSplit ReasoningParser::finish() {
  return run(true);
}

ReasoningSplit ReasoningParser::run(bool at_end) {
  ReasoningSplit out;
  for (;;) {
    switch (state_) {
      case State::Start: {
        if (pending_.size() < kOpen.size() && !at_end &&
            kOpen.substr(0, pending_.size()) == pending_) {
          return out;  // could still become "<think>"
        }
        if (pending_.compare(0, kOpen.size(), kOpen) == 0) {
          pending_.erase(0, kOpen.size());
          state_ = State::OpenNewlines;
        } else {
          state_ = State::Answer;
        }
        break;
      }
      case State::OpenNewlines:
      case State::AfterClose: {
        const size_t text_start = pending_.find_first_not_of('\n');
        if (text_start == std::string::npos) {
          pending_.clear();
          if (!at_end) return out;
        } else {
          pending_.erase(0, text_start);
        }
        state_ = state_ == State::OpenNewlines ? State::Reasoning : State::Answer;
        if (pending_.empty() && at_end) return out;
        break;
      }
      case State::Reasoning: {
        const size_t close = pending_.find(kClose);
        if (close != std::string::npos) {
          std::string_view body(pending_.data(), close);
          while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
          out.reasoning += body;
          pending_.erase(0, close + kClose.size());
          state_ = State::AfterClose;
          break;
        }
        if (at_end) {  // no close tag: all reasoning
          out.reasoning += pending_;
          pending_.clear();
          return out;
        }
        // Hold back a possible start of "</think>" and the newlines before it.
        size_t keep = partial_tag_suffix(pending_, kClose);
        size_t emit = pending_.size() - keep;
        while (emit > 0 && pending_[emit - 1] == '\n') --emit;
        out.reasoning += pending_.substr(0, emit);
        pending_.erase(0, emit);
        return out;
      }
      case State::Answer:
        out.answer += pending_;
        pending_.clear();
        return out;
    }
  }
}

ReasoningSplit ReasoningParser::split(std::string_view text, bool starts_in_reasoning) {
  ReasoningParser parser(starts_in_reasoning);
  ReasoningSplit a = parser.push(text);
  ReasoningSplit b = parser.finish();
  return {a.reasoning + b.reasoning, a.answer + b.answer};
}

}  // namespace cascade

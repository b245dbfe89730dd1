// Splits Qwen3's "<think>…</think>" reasoning from the answer, whole or streaming.
//
// Rules (the same for both forms, so streamed deltas add up to the whole split):
// - Reasoning starts with a leading "<think>" in the text, or at once when the prompt
//   itself ended inside a think block (`starts_in_reasoning`, as templates of thinking
//   models do). Text without it is all answer.
// - Reasoning ends at "</think>"; without a close tag (the output was cut off) everything
//   after the open tag is reasoning and the answer is empty.
// - Newlines right after "<think>", right before "</think>" and right after "</think>"
//   belong to the framing, not to either part (Qwen3's template writes
//   "<think>\n" … "\n</think>\n\n").
#pragma once

#include <string>
#include <string_view>

namespace cascade {

struct ReasoningSplit {
  std::string reasoning;
  std::string answer;
};

class ReasoningParser {
 public:
  explicit ReasoningParser(bool starts_in_reasoning = false);

  // Feeds more generated text; returns what became certain in each part.
  ReasoningSplit push(std::string_view text);
  // The output ended: releases anything held back.
  ReasoningSplit finish();

  // The whole split of a finished text.
  static ReasoningSplit split(std::string_view text, bool starts_in_reasoning = false);

 private:
  enum class State { Start, OpenNewlines, Reasoning, AfterClose, Answer };
  State state_;
  std::string pending_;  // text not yet assigned: a possible tag prefix or held newlines
  ReasoningSplit run(bool at_end);
};

}  // namespace cascade

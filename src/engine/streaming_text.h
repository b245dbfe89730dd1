// A request's generated text, built token by token: incremental detokenization that
// never splits a character, stop strings cut out of the text, and deltas for streaming
// that hold back a tail that might still become a stop string.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace cascade {

class StreamingText {
 public:
  StreamingText(const Tokenizer& tokenizer, std::vector<std::string> stop_strings,
                bool skip_special_tokens);

  // Appends a generated token. Returns true when a stop string is now complete; the
  // text then ends just before it and later tokens are ignored.
  bool add(int32_t token);
  // The request ended: flush the decoder and release the held-back tail.
  void finish();

  const std::string& text() const { return text_; }
  // Text made visible since the last call.
  std::string take_delta();

 private:
  IncrementalDecoder decoder_;
  std::vector<std::string> stop_strings_;
  size_t max_stop_length_ = 0;
  std::string text_;
  size_t emitted_ = 0;
  bool stopped_ = false;
  bool finished_ = false;

  bool cut_at_stop_string(size_t search_from);
  size_t visible_length() const;
};

}  // namespace cascade

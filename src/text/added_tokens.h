// tokenizer.json "added_tokens": strings (special or not) that are cut out of the text
// before the model sees it, matched as Hugging Face tokenizers does:
//  - tokens with normalized=false are found in the raw text, tokens with normalized=true
//    in the normalized text (against their own normalized content);
//  - the leftmost match wins, the longest one among those starting there;
//  - single_word: a match touching a word character (regex \w) on either side is skipped;
//  - lstrip / rstrip: the match swallows the whitespace on its left / right.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/json_fields.h"
#include "text/normalizer.h"

namespace cascade::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A run of text (id < 0) or an added token (id >= 0) found in it.
struct Segment {
  std::string_view text;
  int32_t id = -1;
};

class AddedVocabulary {
 public:
  static AddedVocabulary from_json(const json* list, const JsonPlace& place,
                                   const Normalizer& normalizer);

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

  // Cuts the tokens with normalized=false out of raw `text` (valid UTF-8); appends the
  // non-empty segments in order.
  void split_raw(std::string_view text, std::vector<Segment>& segments) const {
    split(raw_, text, segments);
  }
  // The same for tokens with normalized=true, on normalized text.
  void split_normalized(std::string_view text, std::vector<Segment>& segments) const {
    split(normalized_, text, segments);
  }

 private:
  // Leftmost-longest matching of a few patterns with a byte trie.
  class Matcher {
   public:
    void add(std::string_view pattern, int32_t token_index);
    bool empty() const { return terminal_.size() <= 1; }
    // The first match starting at or after `from`: {begin, end, token index}.
    bool find(std::string_view text, size_t from, size_t& begin, size_t& end,
              int32_t& token_index) const;

   private:
    std::vector<std::vector<std::pair<uint8_t, int32_t>>> children_{1};
    std::vector<int32_t> terminal_{-1};  // token index ending at each node, or -1
    bool first_byte_[256] = {};
  };

  void split(const Matcher& matcher, std::string_view text, std::vector<Segment>& segments) const;

  std::vector<AddedToken> tokens_;
  Matcher raw_, normalized_;
};

}  // namespace cascade::text

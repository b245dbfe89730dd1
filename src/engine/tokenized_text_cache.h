// Token ids of chunk texts tokenized recently, so that a document sent as text with every
// request is tokenized once: a Qwen3 tokenizer spends a few microseconds per token, tens of
// milliseconds for a prompt of long documents, which would otherwise be paid again on
// every request, even when the chunk's KV is cached. Least recently used texts go first
// once the cache holds more than `max_tokens` tokens. One caller at a time.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/tokenizer.h"

namespace cascade {

class TokenizedTextCache {
 public:
  explicit TokenizedTextCache(int64_t max_tokens) : max_tokens_(max_tokens) {}

  // tokenizer.encode(text), from the cache when this text was encoded before by the same
  // tokenizer (the cache belongs to one engine, which has one tokenizer).
  std::shared_ptr<const std::vector<int32_t>> encode(const std::string& text,
                                                     const Tokenizer& tokenizer);

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t tokens() const { return tokens_; }
  size_t entries() const { return index_.size(); }

 private:
  struct Entry {
    std::string text;
    std::shared_ptr<const std::vector<int32_t>> tokens;
  };
  int64_t max_tokens_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys: lru_ texts
  int64_t tokens_ = 0;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

}  // namespace cascade

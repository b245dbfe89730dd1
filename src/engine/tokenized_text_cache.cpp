#include "engine/tokenized_text_cache.h"

namespace cascade {

std::shared_ptr<const std::vector<int32_t>> TokenizedTextCache::encode(
    const std::string& text, const Tokenizer& tokenizer) {
  if (const auto it = index_.find(text); it != index_.end()) {
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second);  // iterators and the key view stay valid
    return it->second->tokens;
  }
  ++misses_;
  auto tokens = std::make_shared<const std::vector<int32_t>>(tokenizer.encode(text));
  const auto size = static_cast<int64_t>(tokens->size());
  if (size > max_tokens_) return tokens;  // larger than the whole cache: not kept
  lru_.push_front(Entry{text, tokens});
  index_.emplace(lru_.front().text, lru_.begin());
  tokens_ += size;
  while (tokens_ > max_tokens_) {
    const Entry& oldest = lru_.back();
    tokens_ -= static_cast<int64_t>(oldest.tokens->size());
    index_.erase(oldest.text);
    lru_.pop_back();
  }
  return tokens;
}

}  // namespace cascade

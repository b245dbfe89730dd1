#include "text/tokenizer.h"
#include "text/utf8.h"

namespace cascade {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::push(int32_t id) {
  const std::string& bytes = tokenizer_.token_bytes(id);
  if (skip_special_tokens_ && tokenizer_.is_special(id)) return {};
  pending_ += bytes;
  std::string out;
  // Everything up to an incomplete trailing sequence is final: the repair of a byte
  // never depends on bytes after the sequence it belongs to.
  const size_t consumed = text::append_repaired_utf8(pending_, out, /*final=*/false);
  pending_.erase(0, consumed);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out = text::repair_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace cascade

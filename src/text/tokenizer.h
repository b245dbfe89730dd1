// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (Qwen2, Qwen2.5, Qwen3),
// giving the ids Hugging Face tokenizers gives with add_special_tokens=False.
//
// Pipeline of encode(): repair invalid UTF-8 -> cut out added tokens matched on raw text
// -> normalize (NFC) each remaining run -> cut out added tokens matched on normalized
// text -> pre-tokenize (regex Split, ByteLevel) -> BPE on each word's bytes.
//
// Invalid UTF-8:
//  - encode() replaces each invalid sequence of its input with U+FFFD before anything
//    else (Hugging Face works on Python str, which cannot hold invalid UTF-8; this is what
//    bytes.decode("utf-8", errors="replace") would have given it).
//  - decode() replaces invalid sequences in the concatenated token bytes with U+FFFD, as
//    Hugging Face's ByteLevel decoder (from_utf8_lossy) and Python's errors="replace" do.
//  - IncrementalDecoder holds back an incomplete trailing sequence until it completes, so
//    it never emits half a character; flush() turns what is left into U+FFFD.
//
// Unsupported tokenizer.json components are rejected with an Error naming the field
// (e.g. "tokenizer.json: unsupported pre_tokenizer type 'Metaspace'").
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cascade {

namespace text {
struct TokenizerState;
}

class Tokenizer {
 public:
  // Reads <model_dir>/tokenizer.json.
  static Tokenizer load(const std::string& model_dir);
  // `source` names the text in error messages (usually its path).
  static Tokenizer from_json(const std::string& json_text, const std::string& source);

  // Added tokens found inside `text` (e.g. "<|im_start|>") become their ids.
  std::vector<int32_t> encode(std::string_view text) const;
  // Throws Error naming the first id that is not a token.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  int32_t token_to_id(std::string_view token) const;  // -1 if absent
  std::string id_to_token(int32_t id) const;          // throws Error for an unknown id
  // The raw bytes `id` decodes to (what decode() concatenates); throws for an unknown id.
  const std::string& token_bytes(int32_t id) const;
  int vocab_size() const;  // model vocab + added tokens (max id + 1)
  bool is_special(int32_t id) const;

 private:
  explicit Tokenizer(std::shared_ptr<const text::TokenizerState> state);
  std::shared_ptr<const text::TokenizerState> state_;  // immutable, shared by copies
};

// Streaming detokenization: text for each new token as soon as it is complete UTF-8.
// The concatenation of all push() results and flush() equals decode() of all the ids.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int32_t id);  // the text that became complete with this token (may be "")
  std::string flush();           // whatever is left (incomplete bytes -> U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes of an incomplete trailing UTF-8 sequence
};

}  // namespace cascade

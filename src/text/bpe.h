// tokenizer.json "model" of type BPE over the byte-level alphabet: a vocabulary of
// byte-level strings and a ranked list of merges. A word (raw bytes) starts as one token
// per byte; the adjacent pair with the lowest merge rank (leftmost on ties) is merged
// until no pair has a merge, exactly as Hugging Face tokenizers' BPE does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/json_fields.h"

namespace cascade::text {

class WordCache;

class BpeModel {
 public:
  // `config` is the "model" value. Throws Error naming the field for a malformed or
  // unsupported model (dropout, byte_fallback, subword prefixes/suffixes are rejected).
  static BpeModel from_json(const json& config, const JsonPlace& place);

  // Appends the ids of one pre-tokenized word (raw bytes, non-empty) to `ids`.
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  // id -> token string, "" where the vocabulary has no such id; size is max id + 1.
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

  const Merge* find_merge(int32_t left, int32_t right) const;
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;

  Vocab vocab_;
  std::vector<std::string> id_to_token_;
  int32_t byte_ids_[256] = {};
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  std::shared_ptr<WordCache> cache_;  // word bytes -> ids, shared by copies
};

}  // namespace cascade::text

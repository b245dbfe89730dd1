// What a loaded tokenizer.json becomes; shared, immutable, by Tokenizer copies.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"
#include "text/bpe.h"
#include "text/normalizer.h"
#include "text/pretokenizer.h"

namespace cascade::text {

struct TokenizerState {
  std::string source;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  AddedVocabulary added;
  std::unordered_map<std::string, int32_t> added_id_of_content;
  std::unordered_map<int32_t, size_t> added_index_of_id;  // into added.tokens()
  // Indexed by id (size = vocab size): whether the id is a token, the bytes it decodes
  // to, and whether it is a special added token.
  std::vector<uint8_t> present;
  std::vector<std::string> bytes;
  std::vector<uint8_t> special;
};

}  // namespace cascade::text

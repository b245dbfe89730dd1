#include "text/tokenizer.h"

#include <algorithm>
#include <utility>

#include "base/error.h"
#include "base/mapped_file.h"
#include "text/byte_level.h"
#include "text/tokenizer_state.h"
#include "text/utf8.h"

namespace cascade {

using text::json;
using text::JsonPlace;

namespace {

const json& field_or_null(const json& root, std::string_view key) {
  static const json null_value;
  const json* value = text::find_field(root, key);
  return value ? *value : null_value;
}

// Components that only matter for offsets or for add_special_tokens=True may be absent
// or ByteLevel; anything else changes the ids or the text and is refused.
void require_byte_level_or_null(const json& root, std::string_view key, const JsonPlace& top,
                                bool required) {
  const JsonPlace place = top / key;
  const json* value = text::find_field(root, key);
  if (!value) {
    if (required) place.fail("is missing (a byte-level BPE needs a ByteLevel decoder)");
    return;
  }
  const std::string type = text::type_field(*value, place);
  if (type != "ByteLevel") {
    throw Error(top.source + ": unsupported " + place.path + " type '" + type + "'");
  }
}

// What Hugging Face's ByteLevel decoder makes of one token: its byte-level characters
// mapped back to bytes, or, when a character is outside the alphabet (added tokens such
// as "<|im_start|>" are fine, "é" is not), the token's own UTF-8 bytes.
std::string decoded_bytes(const std::string& token) {
  auto bytes = text::byte_level_to_bytes(token);
  return bytes ? std::move(*bytes) : token;
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const text::TokenizerState> state)
    : state_(std::move(state)) {}

Tokenizer Tokenizer::load(const std::string& model_dir) {
  const std::string path = model_dir + "/tokenizer.json";
  return from_json(read_text_file(path), path);
}

Tokenizer Tokenizer::from_json(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw Error(source + ": must hold a JSON object");
  const JsonPlace top{source, ""};
  for (const char* key : {"truncation", "padding"}) {
    if (text::find_field(root, key)) {
      throw Error(source + ": unsupported " + key + " (must be null)");
    }
  }
  require_byte_level_or_null(root, "decoder", top, /*required=*/true);
  require_byte_level_or_null(root, "post_processor", top, /*required=*/false);

  auto state = std::make_shared<text::TokenizerState>();
  state->source = source;
  state->normalizer =
      text::Normalizer::from_json(field_or_null(root, "normalizer"), top / "normalizer");
  state->pre_tokenizer =
      text::PreTokenizer::from_json(field_or_null(root, "pre_tokenizer"), top / "pre_tokenizer");
  state->model = text::BpeModel::from_json(text::require_field(root, "model", top), top / "model");
  state->added = text::AddedVocabulary::from_json(text::find_field(root, "added_tokens"),
                                                  top / "added_tokens", state->normalizer);

  const auto& model_tokens = state->model.id_to_token();
  size_t size = model_tokens.size();
  for (const auto& token : state->added.tokens()) size = std::max<size_t>(size, token.id + 1);
  state->present.assign(size, 0);
  state->bytes.assign(size, std::string());
  state->special.assign(size, 0);
  for (size_t id = 0; id < model_tokens.size(); ++id) {
    if (model_tokens[id].empty()) continue;
    state->present[id] = 1;
    state->bytes[id] = decoded_bytes(model_tokens[id]);
  }
  // An added token's id takes precedence over the model's, as in Hugging Face, which
  // also decodes a normalized=true token from its normalized form.
  const auto& added = state->added.tokens();
  for (size_t i = 0; i < added.size(); ++i) {
    const auto& token = added[i];
    state->present[token.id] = 1;
    state->bytes[token.id] =
        decoded_bytes(token.normalized ? state->normalizer.apply(token.content) : token.content);
    state->special[token.id] = token.special;
    state->added_id_of_content.emplace(token.content, token.id);
    state->added_index_of_id.emplace(token.id, i);
  }
  return Tokenizer(std::move(state));
}

std::vector<int32_t> Tokenizer::encode(std::string_view input) const {
  const text::TokenizerState& s = *state_;
  std::string repaired;
  if (!text::is_valid_utf8(input)) {
    repaired = text::repair_utf8(input);
    input = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(input.size() / 3 + 1);
  std::vector<text::Segment> raw_segments, normalized_segments;
  std::vector<std::string_view> words;
  s.added.split_raw(input, raw_segments);
  for (const text::Segment& raw : raw_segments) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const std::string normalized = s.normalizer.apply(raw.text);
    normalized_segments.clear();
    s.added.split_normalized(normalized, normalized_segments);
    for (const text::Segment& segment : normalized_segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
        continue;
      }
      words.clear();
      s.pre_tokenizer.split(segment.text, words);
      for (const std::string_view word : words) s.model.encode_word(word, ids);
    }
  }
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  const text::TokenizerState& s = *state_;
  if (id < 0 || static_cast<size_t>(id) >= s.present.size() || !s.present[id]) {
    throw Error(s.source + ": token id " + std::to_string(id) + " is not in the vocabulary (0.." +
                std::to_string(static_cast<int64_t>(s.present.size()) - 1) + ")");
  }
  return s.bytes[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (const int32_t id : ids) {
    const std::string& token = token_bytes(id);
    if (skip_special_tokens && state_->special[id]) continue;
    bytes += token;
  }
  return text::repair_utf8(bytes);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  const auto it = state_->added_id_of_content.find(std::string(token));
  if (it != state_->added_id_of_content.end()) return it->second;
  return state_->model.token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  token_bytes(id);  // validates the id
  const auto it = state_->added_index_of_id.find(id);
  if (it != state_->added_index_of_id.end()) return state_->added.tokens()[it->second].content;
  return state_->model.id_to_token()[id];
}

int Tokenizer::vocab_size() const {
  return static_cast<int>(state_->present.size());
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < state_->special.size() && state_->special[id];
}

}  // namespace cascade

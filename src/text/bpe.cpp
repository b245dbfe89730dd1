#include "text/bpe.h"

#include <mutex>
#include <queue>

#include "base/error.h"
#include "text/byte_level.h"

namespace cascade::text {

// Remembers the ids of recent words: natural text repeats words a lot.
class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 256;
  static constexpr size_t kMaxEntries = 1 << 16;

  bool lookup(std::string_view word, std::vector<int32_t>& ids) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(word);
    if (it == entries_.end()) return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }

  void store(std::string_view word, const int32_t* ids, size_t count) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.emplace(std::string(word), std::vector<int32_t>(ids, ids + count));
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> entries_;
};

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

void require_empty_string(const json& config, std::string_view key, const JsonPlace& place) {
  const json* value = find_field(config, key);
  if (value && !(value->is_string() && value->get<std::string>().empty())) {
    throw Error(place.source + ": unsupported " + (place / key).path + " " + value->dump() +
                " (only byte-level BPE without subword markers is supported)");
  }
}

// A merge is written "left right" (older files) or ["left", "right"]. Views into `merge`;
// an empty message when well-formed.
std::string parse_merge(const json& merge, std::string_view& left, std::string_view& right) {
  if (merge.is_string()) {
    const std::string_view text = merge.get_ref<const std::string&>();
    const size_t space = text.find(' ');
    if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos) {
      return "must be two tokens separated by one space, got '" + std::string(text) + "'";
    }
    left = text.substr(0, space);
    right = text.substr(space + 1);
    return {};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    left = merge[0].get_ref<const std::string&>();
    right = merge[1].get_ref<const std::string&>();
    return {};
  }
  return "must be a string \"a b\" or a pair [\"a\", \"b\"]";
}

}  // namespace

BpeModel BpeModel::from_json(const json& config, const JsonPlace& place) {
  require_object(config, place);
  if (const json* type = find_field(config, "type")) {
    const std::string name = require_string(*type, place / "type");
    if (name != "BPE") throw Error(place.source + ": unsupported model type '" + name + "'");
  }
  if (const json* dropout = find_field(config, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      throw Error(place.source + ": unsupported model.dropout " + dropout->dump());
    }
  }
  if (bool_field(config, "byte_fallback", false, place)) {
    throw Error(place.source + ": unsupported model.byte_fallback true");
  }
  require_empty_string(config, "continuing_subword_prefix", place);
  require_empty_string(config, "end_of_word_suffix", place);

  BpeModel model;
  model.ignore_merges_ = bool_field(config, "ignore_merges", false, place);
  model.cache_ = std::make_shared<WordCache>();

  const JsonPlace vocab_place = place / "vocab";
  const json& vocab = require_object(require_field(config, "vocab", place), vocab_place);
  model.vocab_.reserve(vocab.size());
  for (const auto& [token, id_value] : vocab.items()) {
    if (token.empty()) vocab_place.fail("has an empty token");
    // The field's place is only built for the message: this loop runs 150k times.
    if (!is_token_id(id_value)) require_token_id(id_value, vocab_place / token);
    const auto id = static_cast<int32_t>(id_value.get<int64_t>());
    if (static_cast<size_t>(id) >= model.id_to_token_.size()) model.id_to_token_.resize(id + 1);
    if (!model.id_to_token_[id].empty()) {
      vocab_place.fail("gives id " + std::to_string(id) + " to both '" + model.id_to_token_[id] +
                       "' and '" + token + "'");
    }
    model.id_to_token_[id] = token;
    model.vocab_.emplace(token, id);
  }
  for (int b = 0; b < 256; ++b) {
    const std::string token = bytes_to_byte_level(std::string(1, static_cast<char>(b)));
    const int32_t id = model.token_to_id(token);
    if (id < 0) {
      vocab_place.fail("lacks the byte-level token '" + token + "' for byte " + std::to_string(b));
    }
    model.byte_ids_[b] = id;
  }

  const JsonPlace merges_place = place / "merges";
  const json& merges = require_array(require_field(config, "merges", place), merges_place);
  model.merges_.reserve(merges.size());
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    std::string_view left, right;
    const std::string problem = parse_merge(merges[rank], left, right);
    if (!problem.empty()) merges_place[rank].fail(problem);
    const int32_t left_id = model.token_to_id(left), right_id = model.token_to_id(right);
    if (left_id < 0) merges_place[rank].fail("names unknown token '" + std::string(left) + "'");
    if (right_id < 0) merges_place[rank].fail("names unknown token '" + std::string(right) + "'");
    merged.assign(left).append(right);
    const int32_t merged_id = model.token_to_id(merged);
    if (merged_id < 0) merges_place[rank].fail("makes '" + merged + "', which is not in the vocab");
    // A repeated pair keeps its last rank, as in Hugging Face tokenizers.
    model.merges_[pair_key(left_id, right_id)] = {static_cast<int32_t>(rank), merged_id};
  }
  return model;
}

int32_t BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.size() == 1) {
    ids.push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (ignore_merges_) {
    const int32_t whole = token_to_id(bytes_to_byte_level(word));
    if (whole >= 0) {
      ids.push_back(whole);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  if (cacheable && cache_->lookup(word, ids)) return;
  const size_t first = ids.size();
  merge_word(word, ids);
  if (cacheable) cache_->store(word, ids.data() + first, ids.size() - first);
}

// Rank-ordered merging over a linked list of symbols with a min-heap of candidate pairs:
// O(n log n) for a word of n bytes. A heap entry is stale once either of its symbols has
// changed; it is then skipped (the pair no longer yields the recorded merged id).
void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev;  // -1: none
    int32_t next;  // -1: none
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;  // the left symbol
    int32_t merged_id;
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };

  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    if (const Merge* merge = find_merge(symbols[left].id, symbols[right].id)) {
      queue.push({merge->rank, left, merge->merged_id});
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* merge = find_merge(left.id, right.id);
    if (!merge || merge->merged_id != top.merged_id) continue;

    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

}  // namespace cascade::text

// Fuzzes encode() on arbitrary bytes and decode() on arbitrary ids with the tiny Qwen3
// tokenizer, checking that encode gives known ids and that streaming decode equals decode.
#include <cstring>
#include <vector>

#include "fuzz_input.h"
#include "text/tokenizer.h"

namespace {

const cascade::Tokenizer& tokenizer() {
  static const cascade::Tokenizer t =
      cascade::Tokenizer::load(CASCADE_FIXTURES_DIR "/models/qwen3-tiny");
  return t;
}

std::string streamed(const std::vector<int32_t>& ids, bool skip_special) {
  cascade::IncrementalDecoder decoder(tokenizer(), skip_special);
  std::string text;
  for (const int32_t id : ids) text += decoder.push(id);
  return text + decoder.flush();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  const Tokenizer& t = tokenizer();

  const std::vector<int32_t> encoded = t.encode(fuzz::as_text(data, size));
  for (const int32_t id : encoded) fuzz::require(id >= 0 && id < t.vocab_size());
  fuzz::require(t.decode(encoded) == streamed(encoded, false));

  // The same bytes as little-endian int32 ids; most land in the vocabulary, some do not.
  std::vector<int32_t> ids(size / 4);
  if (!ids.empty()) std::memcpy(ids.data(), data, ids.size() * 4);
  const bool skip_special = size % 2 == 1;
  bool known = true;
  for (int32_t& id : ids) {
    if (id >= 0) id %= t.vocab_size() + 16;
    known = known && id >= 0 && id < t.vocab_size();
  }
  if (known) {
    fuzz::require(t.decode(ids, skip_special) == streamed(ids, skip_special));
  } else {
    fuzz::expect_only_errors([&] { t.decode(ids, skip_special); });
  }
  return 0;
}

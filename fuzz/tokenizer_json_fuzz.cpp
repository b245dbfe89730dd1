// Fuzzes tokenizer.json loading; a tokenizer that loads must also encode and decode.
#include "fuzz_input.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  fuzz::expect_only_errors([&] {
    const Tokenizer tokenizer = Tokenizer::from_json(fuzz::as_text(data, size), "tokenizer.json");
    const std::vector<int32_t> ids = tokenizer.encode("Hello <|im_start|> wörld 123\n\t");
    for (const int32_t id : ids) fuzz::require(id >= 0 && id < tokenizer.vocab_size());
    tokenizer.decode(ids);
  });
  return 0;
}

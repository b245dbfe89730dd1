// Fuzzes config.json parsing and checks that what it accepts is a usable geometry.
#include "fuzz_input.h"
#include "model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  fuzz::expect_only_errors([&] {
    const ModelConfig c = parse_model_config(fuzz::as_text(data, size), "config.json");
    fuzz::require(c.vocab_size > 0 && c.hidden_size > 0 && c.num_hidden_layers > 0);
    fuzz::require(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0);
    fuzz::require(c.head_dim > 0 && c.head_dim % 2 == 0 && c.rope_theta > 0);
    // What we accept we can write back and read again to the same fields.
    const ModelConfig again = parse_model_config(model_config_json(c), "config.json (again)");
    fuzz::require(again.hidden_size == c.hidden_size && again.head_dim == c.head_dim &&
                  again.eos_token_ids == c.eos_token_ids);
  });
  return 0;
}

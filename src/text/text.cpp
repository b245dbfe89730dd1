// placeholder, replaced by the tokenizer
namespace cascade {}

// Fuzzes parse_chat_messages on a JSON messages array and renders what it accepts with
// both templates and every option.
#include <optional>

#include "fuzz_input.h"
#include "text/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  fuzz::expect_only_errors([&] {
    const std::vector<ChatMessage> messages =
        parse_chat_messages(fuzz::as_text(data, size), "messages");
    for (const ChatTemplate& chat : {ChatTemplate::qwen3(), ChatTemplate::qwen25_chatml()}) {
      for (const bool generation_prompt : {false, true}) {
        for (const std::optional<bool> thinking :
             {std::optional<bool>(), std::optional<bool>(false), std::optional<bool>(true)}) {
          chat.render(messages,
                      {.add_generation_prompt = generation_prompt, .enable_thinking = thinking});
        }
      }
    }
  });
  return 0;
}

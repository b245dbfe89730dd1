// Fuzzes the chat template's loading: tokenizer_config.json read from a checkpoint folder
// (ChatTemplate::load), and the same bytes as a chat_template.jinja source.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_input.h"
#include "text/chat_template.h"

namespace {

// One folder per fuzzing process; each run rewrites its tokenizer_config.json.
const std::string& checkpoint_dir() {
  static const std::string dir = [] {
    const auto path = std::filesystem::temp_directory_path() /
                      ("cascade-fuzz-chat-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path.string();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cascade;
  const std::string text = fuzz::as_text(data, size);
  std::ofstream(checkpoint_dir() + "/tokenizer_config.json", std::ios::binary) << text;
  fuzz::expect_only_errors([&] { ChatTemplate::load(checkpoint_dir()); });
  fuzz::expect_only_errors([&] { ChatTemplate::from_jinja(text, "chat_template.jinja"); });
  return 0;
}

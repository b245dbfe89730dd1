#include "cache/model_fingerprint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_paths.h"

namespace cascade {
namespace {

namespace fs = std::filesystem;

std::string copy_of_tiny_model(const std::string& name) {
  const std::string dir = test::temp_dir(name);
  for (const auto& entry : fs::directory_iterator(test::fixture("models/qwen3-tiny"))) {
    fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
  }
  return dir;
}

void flip_byte(const std::string& path, std::streamoff from_end) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-from_end, std::ios::end);
  char c = 0;
  f.read(&c, 1);
  f.seekp(-from_end, std::ios::end);
  c = static_cast<char>(c ^ 0x01);
  f.write(&c, 1);
}

TEST(ModelFingerprint, SameCheckpointSameFingerprint) {
  const auto a = model_fingerprint(test::fixture("models/qwen3-tiny"));
  EXPECT_EQ(a, model_fingerprint(copy_of_tiny_model("copy")));
  EXPECT_NE(a, model_fingerprint(test::fixture("models/qwen2-tiny")));
}

TEST(ModelFingerprint, AnotherWeightOrConfigChangesIt) {
  const auto original = model_fingerprint(test::fixture("models/qwen3-tiny"));
  const std::string weights = copy_of_tiny_model("weights");
  flip_byte(weights + "/model.safetensors", 1000);  // inside the sampled tail
  EXPECT_NE(model_fingerprint(weights), original);
  const std::string config = copy_of_tiny_model("config");
  std::ofstream(config + "/config.json", std::ios::app) << "\n";
  EXPECT_NE(model_fingerprint(config), original);
}

}  // namespace
}  // namespace cascade

// A damaged model file, cut short anywhere or with a rewritten header, is refused when the
// model is opened, with one line naming the file, and is never read past its end. The
// damage is done to a copy of the tiny Qwen3 fixture (tests/fixtures/models/qwen3-tiny).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cascade/llm.h"
#include "model/safetensors.h"
#include "model/safetensors_writer.h"
#include "test_paths.h"

namespace cascade {
namespace {

using json = nlohmann::json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A copy of the tiny Qwen3 folder; returns it. Its model.safetensors is then damaged.
std::string copy_of_tiny_model(const std::string& name) {
  const std::string dir = test::temp_dir(name);
  std::filesystem::copy(test::fixture("models/qwen3-tiny"), dir,
                        std::filesystem::copy_options::recursive);
  return dir;
}

// The fixture's file split into its header (parsed) and its data section.
struct SafetensorsParts {
  uint64_t header_length = 0;
  json header;
  std::string data;
};

SafetensorsParts split(const std::string& bytes) {
  SafetensorsParts parts;
  for (int i = 7; i >= 0; --i) {
    parts.header_length = (parts.header_length << 8) | static_cast<uint8_t>(bytes[i]);
  }
  parts.header = json::parse(bytes.substr(8, parts.header_length));
  parts.data = bytes.substr(8 + parts.header_length);
  return parts;
}

// The message of the error LLM's constructor throws for `dir`, or "" when it opens.
std::string open_error(const std::string& dir) {
  try {
    LLM llm(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Parses exactly `bytes` from a heap buffer of that size, so that AddressSanitizer reports
// any read past the end; returns the error message, or "" when it parses.
std::string parse_error(const std::string& bytes) {
  const std::vector<uint8_t> exact(bytes.begin(), bytes.end());
  try {
    parse_safetensors(std::span<const uint8_t>(exact.data(), exact.size()), "cut.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_one_line_naming(const std::string& message, const std::string& file,
                            const std::string& detail) {
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find(detail), std::string::npos) << message << "\nmissing: " << detail;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

const std::string kFixture = "models/qwen3-tiny/model.safetensors";

TEST(ModelFileIntegrity, EveryTruncationIsAnErrorAndNothingIsReadPastTheEnd) {
  const std::string bytes = read_bytes(test::fixture(kFixture));
  const SafetensorsParts parts = split(bytes);
  ASSERT_GT(parts.data.size(), 0u);
  ASSERT_TRUE(parse_error(bytes).empty()) << parse_error(bytes);
  // Every cut inside the length field and the header, then every 97th byte of the data.
  const size_t data_begin = 8 + parts.header_length;
  std::vector<size_t> cuts;
  for (size_t n = 0; n <= data_begin; ++n) cuts.push_back(n);
  for (size_t n = data_begin + 1; n < bytes.size(); n += 97) cuts.push_back(n);
  cuts.push_back(bytes.size() - 1);
  for (const size_t n : cuts) {
    const std::string message = parse_error(bytes.substr(0, n));
    ASSERT_FALSE(message.empty()) << "a file cut to " << n << " of " << bytes.size()
                                  << " bytes was accepted";
    EXPECT_NE(message.find("cut.safetensors"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(ModelFileIntegrity, TruncatedModelFileIsOneLineNamingTheFileWhenTheModelOpens) {
  const std::string bytes = read_bytes(test::fixture(kFixture));
  const SafetensorsParts parts = split(bytes);
  const size_t data_begin = 8 + parts.header_length;
  const std::string dir = copy_of_tiny_model("integrity_cut");
  const std::string file = dir + "/model.safetensors";
  const struct {
    size_t size;
    std::string detail;
  } cuts[] = {
      {0, "file is 0 bytes, too short"},
      {5, "file is 5 bytes, too short"},  // inside the header length
      {8, "runs past the end of the file (8 bytes)"},
      {8 + parts.header_length / 2, "runs past the end of the file"},    // inside the header
      {data_begin, "past the end of the data (0 bytes)"},                // no data at all
      {data_begin + parts.data.size() / 2, "past the end of the data"},  // inside the data
      {bytes.size() - 1, "past the end of the data"},                    // one byte short
  };
  for (const auto& cut : cuts) {
    write_bytes(file, bytes.substr(0, cut.size));
    expect_one_line_naming(open_error(dir), file, cut.detail);
  }
  write_bytes(file, bytes);
  EXPECT_EQ(open_error(dir), "");  // the undamaged copy opens
}

TEST(ModelFileIntegrity, RewrittenHeaderOffsetsAreOneLineNamingTheFileAndTensor) {
  const SafetensorsParts parts = split(read_bytes(test::fixture(kFixture)));
  const std::string dir = copy_of_tiny_model("integrity_header");
  const std::string file = dir + "/model.safetensors";
  const std::string norm = "model.layers.0.self_attn.q_norm.weight";  // BF16 [32]
  const std::string other_norm = "model.layers.0.self_attn.k_norm.weight";
  const uint64_t data_size = parts.data.size();
  const auto expect_refused = [&](const std::function<void(json&)>& damage,
                                  const std::string& detail) {
    json header = parts.header;
    damage(header);
    write_bytes(file, raw_safetensors(header.dump(), parts.data));
    expect_one_line_naming(open_error(dir), file, detail);
  };
  expect_refused(
      [&](json& h) {
        h[norm]["data_offsets"] = {data_size - 32, data_size + 32};
      },
      "tensor '" + norm + "' has data_offsets [" + std::to_string(data_size - 32) + "," +
          std::to_string(data_size + 32) + "] past the end of the data");
  expect_refused(
      [&](json& h) {
        h[norm]["data_offsets"] = {1ull << 62, (1ull << 62) + 64};
      },
      "past the end of the data");
  expect_refused([&](json& h) { h[norm]["data_offsets"] = h[other_norm]["data_offsets"]; },
                 "overlap in the data");
  expect_refused(
      [&](json& h) { h[norm]["dtype"] = "F32"; },  // 4-byte elements in 64 bytes
      "tensor '" + norm + "' has 64 bytes in data_offsets but shape [32] of F32 needs 128");
  expect_refused([&](json& h) { h[norm]["shape"] = {33}; }, "shape [33] of BF16 needs 66");
  expect_refused([&](json& h) { h[norm]["data_offsets"] = {64, 0}; }, "begin > end");
  // A removed tensor leaves a hole where its bytes were.
  const json& removed = parts.header[norm]["data_offsets"];
  expect_refused([&](json& h) { h.erase(norm); },
                 "no tensor covers bytes [" + removed[0].dump() + ", " + removed[1].dump() + ")");
}

TEST(ModelFileIntegrity, AHeaderLengthOffByOneIsAnError) {
  const std::string bytes = read_bytes(test::fixture(kFixture));
  const SafetensorsParts parts = split(bytes);
  for (const int64_t delta : {-1, 1, 8}) {
    std::string damaged = bytes;
    const uint64_t length = parts.header_length + static_cast<uint64_t>(delta);
    for (int i = 0; i < 8; ++i) damaged[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    EXPECT_FALSE(parse_error(damaged).empty()) << "header length off by " << delta;
  }
}

}  // namespace
}  // namespace cascade

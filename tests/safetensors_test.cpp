#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "expect_error.h"
#include "model/safetensors_writer.h"
#include "test_paths.h"
#include "tiny_checkpoint.h"

namespace cascade {
namespace {

using json = nlohmann::json;
using test::expect_error;

std::vector<uint8_t> counting_bytes(size_t n, uint8_t start) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i);
  return b;
}

// A file whose header is `header` verbatim, followed by `data_size` bytes.
std::string write_raw(const std::string& dir, const json& header, size_t data_size) {
  const std::string path = dir + "/model.safetensors";
  test::write_text(path, raw_safetensors(header.dump(), std::string(data_size, '\x11')));
  return path;
}

json entry(const std::string& dtype, std::vector<int64_t> shape, uint64_t begin, uint64_t end) {
  return {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

TEST(SafetensorsWriter, RoundTripsEveryDtype) {
  const std::string path = test::temp_dir("st") + "/all.safetensors";
  const std::vector<TensorToWrite> tensors = {
      {"a.f32", DType::F32, {2, 3}, counting_bytes(24, 1)},
      {"b.f16", DType::F16, {3}, counting_bytes(6, 40)},
      {"c.bf16", DType::BF16, {1, 1, 5}, counting_bytes(10, 60)},
      {"d.i32", DType::I32, {2}, counting_bytes(8, 80)},
      {"e.i64", DType::I64, {1}, counting_bytes(8, 90)},
      {"f.scalar", DType::F32, {}, counting_bytes(4, 100)},
      {"g.empty", DType::BF16, {0, 4}, {}},
  };
  write_safetensors(path, tensors);
  const SafetensorsModel model = SafetensorsModel::open_file(path);
  ASSERT_EQ(model.names().size(), tensors.size());
  for (const TensorToWrite& t : tensors) {
    const TensorRecord& r = model.get(t.name);
    EXPECT_EQ(r.dtype, t.dtype) << t.name;
    EXPECT_EQ(r.shape, t.shape) << t.name;
    ASSERT_EQ(r.nbytes, t.bytes.size()) << t.name;
    EXPECT_TRUE(std::equal(t.bytes.begin(), t.bytes.end(), r.data)) << t.name;
    EXPECT_EQ(r.file, path);
  }
  EXPECT_EQ(model.files(), std::vector<std::string>{path});
}

TEST(SafetensorsWriter, HeaderIsPaddedToEightBytesWithMetadata) {
  const std::string path = test::temp_dir("st") + "/one.safetensors";
  write_safetensors(path, {{"x", DType::F32, {1}, counting_bytes(4, 0)}});
  const std::string bytes = read_text_file(path);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + header_size + 4);
  const json header = json::parse(bytes.substr(8, header_size));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["x"]["data_offsets"], json({0, 4}));
}

TEST(SafetensorsWriter, StreamedWriteMatchesInMemoryWrite) {
  const std::string dir = test::temp_dir("st");
  const std::vector<TensorToWrite> tensors = {{"p", DType::BF16, {2, 2}, counting_bytes(8, 3)},
                                              {"q", DType::F32, {3}, counting_bytes(12, 9)}};
  write_safetensors(dir + "/a.safetensors", tensors);
  write_safetensors(dir + "/b.safetensors",
                    std::vector<TensorHeader>{{"p", DType::BF16, {2, 2}}, {"q", DType::F32, {3}}},
                    [&](size_t i, std::vector<uint8_t>& bytes) { bytes = tensors[i].bytes; });
  EXPECT_EQ(read_text_file(dir + "/a.safetensors"), read_text_file(dir + "/b.safetensors"));
}

TEST(SafetensorsWriter, TensorFromF32RoundsToTheDtype) {
  const std::vector<float> values = {1.0f, -2.5f, 1.0f + 1.0f / 256, 3.14159f};
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    const TensorToWrite t = tensor_from_f32("t", dtype, {2, 2}, values);
    ASSERT_EQ(t.bytes.size(), 4 * dtype_size(dtype));
    std::vector<float> back(4);
    convert_to_f32(t.bytes.data(), dtype, 4, back.data());
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(back[i], test::stored_value(values[i], dtype));
  }
  expect_error([&] { tensor_from_f32("t", DType::F32, {3}, values); }, {"tensor 't'", "[3]"});
}

TEST(SafetensorsWriter, RefusesInconsistentTensorsAndLeavesNoFile) {
  const std::string dir = test::temp_dir("st");
  const std::string path = dir + "/bad.safetensors";
  expect_error(
      [&] {
        write_safetensors(path, {{"w", DType::F32, {2, 3}, counting_bytes(20, 0)}});
      },
      {path, "tensor 'w' has 20 bytes", "needs 24"});
  expect_error(
      [&] {
        write_safetensors(path, {{"w", DType::F32, {1}, counting_bytes(4, 0)},
                                 {"w", DType::F32, {1}, counting_bytes(4, 0)}});
      },
      {path, "tensor 'w' written twice"});
  expect_error(
      [&] {
        write_safetensors(path, {{"n", DType::F32, {-1}, {}}});
      },
      {path, "tensor 'n'", "negative"});
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

// --- reading: every malformation is an Error naming the file and the tensor ---

TEST(SafetensorsErrors, FileShorterThanEightBytes) {
  const std::string path = test::temp_dir("st") + "/model.safetensors";
  test::write_text(path, "abc");
  expect_error([&] { SafetensorsModel::open_file(path); }, {path, "3 bytes", "too short"});
}

TEST(SafetensorsErrors, HeaderLengthPastEndOfFile) {
  const std::string path = test::temp_dir("st") + "/model.safetensors";
  std::string bytes = raw_safetensors("{}", "");
  bytes[0] = 100;  // claims a 100-byte header in a 10-byte file
  test::write_text(path, bytes);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "header length 100 runs past the end of the file (10 bytes)"});
}

TEST(SafetensorsErrors, HeaderNotJsonOrNotObject) {
  const std::string dir = test::temp_dir("st");
  const std::string path = dir + "/model.safetensors";
  test::write_text(path, raw_safetensors("{\"a\": ", ""));
  expect_error([&] { SafetensorsModel::open_file(path); }, {path, "header is not valid JSON"});
  test::write_text(path, raw_safetensors("[1, 2]", ""));
  expect_error([&] { SafetensorsModel::open_file(path); }, {path, "header must be a JSON object"});
}

TEST(SafetensorsErrors, MetadataIsSkipped) {
  const std::string dir = test::temp_dir("st");
  const std::string path =
      write_raw(dir, {{"__metadata__", {{"format", "pt"}}}, {"w", entry("F32", {2}, 0, 8)}}, 8);
  const SafetensorsModel model = SafetensorsModel::open_file(path);
  EXPECT_EQ(model.names(), std::vector<std::string>{"w"});
}

TEST(SafetensorsErrors, UnsupportedDtype) {
  const std::string dir = test::temp_dir("st");
  const std::string path = write_raw(dir, {{"x", entry("F8_E4M3", {4}, 0, 4)}}, 4);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {"model.safetensors: tensor 'x' has unsupported dtype 'F8_E4M3'"});
}

TEST(SafetensorsErrors, MalformedEntries) {
  const std::string dir = test::temp_dir("st");
  const auto expect_entry_error = [&](const json& e, const std::string& detail) {
    const std::string path = write_raw(dir, {{"t", e}}, 64);
    expect_error([&] { SafetensorsModel::open_file(path); }, {path, "tensor 't'", detail});
  };
  expect_entry_error(json::array(), "must be an object");
  expect_entry_error({{"shape", {1}}, {"data_offsets", {0, 4}}}, "no 'dtype'");
  expect_entry_error({{"dtype", "F32"}, {"data_offsets", {0, 4}}}, "no 'shape'");
  expect_entry_error({{"dtype", "F32"}, {"shape", {1}}}, "no 'data_offsets'");
  expect_entry_error({{"dtype", 4}, {"shape", {1}}, {"data_offsets", {0, 4}}}, "'dtype'");
  expect_entry_error(entry("F32", {-1}, 0, 4), "shape");
  expect_entry_error({{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0}}}, "data_offsets");
  expect_entry_error(entry("F32", {1}, 8, 4), "begin > end");
  expect_entry_error(entry("F32", {2, 3}, 0, 16), "16 bytes in data_offsets but shape [2, 3]");
  expect_entry_error(entry("F32", {1LL << 62, 1LL << 62}, 0, 16), "shape");
}

TEST(SafetensorsErrors, OffsetsPastEndOfData) {
  const std::string dir = test::temp_dir("st");
  const std::string path =
      write_raw(dir, {{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {4}, 8, 24)}}, 16);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "tensor 'b' has data_offsets [8,24] past the end of the data (16 bytes)"});
}

TEST(SafetensorsErrors, OverlappingOffsets) {
  const std::string dir = test::temp_dir("st");
  const std::string path = write_raw(dir,
                                     {{"a", entry("F32", {4}, 0, 16)},
                                      {"b", entry("F32", {2}, 24, 32)},
                                      {"c", entry("F32", {2}, 12, 20)}},
                                     32);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "tensors 'a' [0, 16) and 'c' [12, 20) overlap"});
}

TEST(SafetensorsErrors, HoleOrTrailingBytesInTheData) {
  const std::string dir = test::temp_dir("st");
  std::string path =
      write_raw(dir, {{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {2}, 12, 20)}}, 20);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "no tensor covers bytes [8, 12) of the data, after tensor 'a'"});
  path = write_raw(dir, {{"a", entry("F32", {2}, 4, 12)}}, 12);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "no tensor covers bytes [0, 4) of the data, after the start of the data"});
  path = write_raw(dir, {{"a", entry("F32", {2}, 0, 8)}}, 9);
  expect_error([&] { SafetensorsModel::open_file(path); },
               {path, "the data section has 9 bytes but its tensors end at byte 8"});
  path = write_raw(dir, {{"a", entry("F32", {0}, 0, 0)}, {"b", entry("F32", {2}, 0, 8)}}, 8);
  EXPECT_EQ(SafetensorsModel::open_file(path).names().size(), 2u);  // empty tensors tile too
}

TEST(SafetensorsErrors, DuplicateNameInOneHeader) {
  const std::string path = test::temp_dir("st") + "/model.safetensors";
  const std::string e = entry("F32", {1}, 0, 4).dump();
  test::write_text(path, raw_safetensors("{\"w\": " + e + ", \"w\": " + e + "}", "abcd"));
  expect_error([&] { SafetensorsModel::open_file(path); }, {path, "tensor 'w' appears twice"});
}

TEST(SafetensorsErrors, MissingTensorNamesTheSource) {
  const std::string dir = test::temp_dir("st");
  write_safetensors(dir + "/model.safetensors", {{"w", DType::F32, {1}, counting_bytes(4, 0)}});
  const SafetensorsModel model = SafetensorsModel::open(dir);
  EXPECT_TRUE(model.contains("w"));
  EXPECT_FALSE(model.contains("v"));
  expect_error([&] { model.get("v"); }, {dir + ": missing tensor 'v'"});
}

// --- folders: one file, or shards listed by an index ---

TEST(SafetensorsFolder, NoSafetensorsAtAll) {
  const std::string dir = test::temp_dir("model");
  expect_error([&] { SafetensorsModel::open(dir); },
               {dir, "model.safetensors", "model.safetensors.index.json"});
}

TEST(SafetensorsFolder, MissingFolder) {
  const std::string dir = test::temp_dir("model") + "/nope";
  expect_error([&] { SafetensorsModel::open(dir); }, {dir + ": model folder not found"});
}

// Two shards: a, b in the first; c in the second.
std::string write_two_shards(const std::string& dir) {
  write_safetensors(dir + "/s1.safetensors", {{"a", DType::F32, {2}, counting_bytes(8, 0)},
                                              {"b", DType::BF16, {3}, counting_bytes(6, 50)}});
  write_safetensors(dir + "/s2.safetensors", {{"c", DType::F16, {1, 2}, counting_bytes(4, 90)}});
  const std::string index = dir + "/model.safetensors.index.json";
  test::write_text(index, R"({"metadata": {"total_size": 18},
      "weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}})");
  return index;
}

TEST(SafetensorsFolder, OpensShardsOnce) {
  const std::string dir = test::temp_dir("model");
  write_two_shards(dir);
  const SafetensorsModel model = SafetensorsModel::open(dir);
  EXPECT_EQ(model.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(model.files(),
            (std::vector<std::string>{dir + "/s1.safetensors", dir + "/s2.safetensors"}));
  EXPECT_EQ(model.get("c").file, dir + "/s2.safetensors");
  EXPECT_EQ(model.get("c").dtype, DType::F16);
  EXPECT_EQ(std::memcmp(model.get("c").data, counting_bytes(4, 90).data(), 4), 0);
  EXPECT_EQ(std::memcmp(model.get("b").data, counting_bytes(6, 50).data(), 6), 0);
}

TEST(SafetensorsFolder, MissingShardFile) {
  const std::string dir = test::temp_dir("model");
  const std::string index = write_two_shards(dir);
  std::filesystem::remove(dir + "/s2.safetensors");
  expect_error([&] { SafetensorsModel::open(dir); },
               {index + ": shard 's2.safetensors' (for tensor 'c') not found"});
}

TEST(SafetensorsFolder, TensorMissingFromItsShard) {
  const std::string dir = test::temp_dir("model");
  const std::string index = write_two_shards(dir);
  test::write_text(index, R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors",
      "c": "s2.safetensors", "d": "s2.safetensors"}})");
  expect_error([&] { SafetensorsModel::open(dir); },
               {index + ": tensor 'd' is missing from its shard " + dir + "/s2.safetensors"});
  // Listed under the wrong shard is missing from that shard too.
  test::write_text(index, R"({"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors",
      "c": "s1.safetensors"}})");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "tensor 'c' is missing"});
}

TEST(SafetensorsFolder, DuplicateTensorAcrossShards) {
  const std::string dir = test::temp_dir("model");
  const std::string index = write_two_shards(dir);
  write_safetensors(dir + "/s2.safetensors", {{"a", DType::F32, {2}, counting_bytes(8, 0)}});
  test::write_text(index, R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  expect_error([&] { SafetensorsModel::open(dir); },
               {dir + "/s2.safetensors: tensor 'a' is also in " + dir + "/s1.safetensors"});
}

TEST(SafetensorsFolder, MalformedIndex) {
  const std::string dir = test::temp_dir("model");
  const std::string index = write_two_shards(dir);
  test::write_text(index, "{weight_map");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "not valid JSON"});
  test::write_text(index, R"({"weight_map": ["s1.safetensors"]})");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "field 'weight_map'"});
  test::write_text(index, R"({"weight_map": {}})");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "'weight_map' is empty"});
  test::write_text(index, R"({"weight_map": {"a": 3}})");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "entry 'a' must be a file name"});
  test::write_text(index, R"({"weight_map": {"a": "../s1.safetensors"}})");
  expect_error([&] { SafetensorsModel::open(dir); }, {index, "not a plain file name"});
}

TEST(SafetensorsFolder, SingleFileWinsOverIndex) {
  const std::string dir = test::temp_dir("model");
  write_two_shards(dir);
  write_safetensors(dir + "/model.safetensors", {{"z", DType::F32, {1}, counting_bytes(4, 0)}});
  EXPECT_EQ(SafetensorsModel::open(dir).names(), std::vector<std::string>{"z"});
}

}  // namespace
}  // namespace cascade

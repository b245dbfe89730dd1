#include "cache/model_fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "base/mapped_file.h"
#include "model/safetensors.h"

namespace cascade {
namespace {

constexpr size_t kSample = size_t{64} << 10;
constexpr size_t kStride = size_t{64} << 20;

void append(std::vector<uint8_t>& out, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + n);
}

void append_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

ChunkKey model_fingerprint(const std::string& model_dir) {
  std::vector<uint8_t> bytes;
  const std::string tag = "cascade-model-v1";
  append(bytes, tag.data(), tag.size());
  const std::string config = read_text_file(model_dir + "/config.json");
  append_u64(bytes, config.size());
  append(bytes, config.data(), config.size());
  std::vector<std::string> files = SafetensorsModel::open(model_dir).files();
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const MappedFile file(path);
    const std::string name = std::filesystem::path(path).filename().string();
    append_u64(bytes, name.size());
    append(bytes, name.data(), name.size());
    append_u64(bytes, file.size());
    // The whole header (validated when the checkpoint was opened), then data samples.
    uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = (header << 8) | file.data()[i];
    append(bytes, file.data(), static_cast<size_t>(8 + header));
    for (size_t at = 0; at < file.size(); at += kStride) {
      append(bytes, file.data() + at, std::min(kSample, file.size() - at));
    }
    const size_t tail = std::min(kSample, file.size());
    append(bytes, file.data() + file.size() - tail, tail);
  }
  return sha256(bytes);
}

}  // namespace cascade

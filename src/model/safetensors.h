// Memory-mapped safetensors checkpoints: one file or shards listed by
// model.safetensors.index.json. Headers are validated on open; tensor bytes stay mapped.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/dtype.h"
#include "base/mapped_file.h"
#include "base/tensor.h"

namespace cascade {

struct TensorRecord {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  const uint8_t* data = nullptr;  // inside a mapping owned by the SafetensorsModel
  size_t nbytes = 0;
  std::string file;  // the shard it came from, for error messages
};

// "F32", "F16", "BF16", "I32", "I64": dtype names as safetensors headers spell them.
std::string_view safetensors_dtype_name(DType dtype);
// Empty when `name` is not one of the above.
std::optional<DType> parse_safetensors_dtype(std::string_view name);

// Validates the bytes of one safetensors file (8-byte header length, JSON header, data) and
// returns its tensors, whose data point into `bytes`; `path` names the file in errors.
// The tensors must tile the data exactly (no overlap, hole or trailing bytes), so a file
// cut short or a header length off by a few bytes is an error, never a shifted read.
std::vector<TensorRecord> parse_safetensors(std::span<const uint8_t> bytes,
                                            const std::string& path);

class SafetensorsModel {
 public:
  // Opens model.safetensors, or the shards of model.safetensors.index.json, in `model_dir`.
  static SafetensorsModel open(const std::string& model_dir);
  // Opens one safetensors file.
  static SafetensorsModel open_file(const std::string& path);

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws Error("<dir>: missing tensor '<name>'") when absent.
  const TensorRecord& get(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::string& source() const { return source_; }
  // Paths of the mapped files, in the order they were opened.
  std::vector<std::string> files() const;

 private:
  std::string source_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, TensorRecord> tensors_;
  void add_file(const std::string& path);
};

}  // namespace cascade

// Writes safetensors files: the format's 8-byte little-endian header length, a JSON header
// padded with spaces to a multiple of 8 bytes, then the tensors' bytes in the given order.
// Used by tests (fixtures, corrupt variants) and to generate random-weight checkpoints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/tensor.h"

namespace cascade {

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> bytes;  // shape_numel(shape) · dtype_size(dtype), row-major
};

// Writes `tensors` to `path` (through a temporary file, so a failed write leaves no partial
// file). Throws Error naming the path and tensor on an empty or repeated name, a negative
// dimension, or bytes that do not match the shape.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors);

// The same without holding every tensor in memory at once (checkpoints of billions of
// parameters): `fill(i, bytes)` is called in order and must leave tensor i's bytes.
struct TensorHeader {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
};
using TensorFiller = std::function<void(size_t index, std::vector<uint8_t>& bytes)>;
void write_safetensors(const std::string& path, const std::vector<TensorHeader>& headers,
                       const TensorFiller& fill);

// f32 values -> a tensor of `dtype` (F32, F16 or BF16; rounded to nearest even).
TensorToWrite tensor_from_f32(const std::string& name, DType dtype, Shape shape,
                              const std::vector<float>& values);

// The bytes of a safetensors file with this exact header text and data section, for tests
// that need files no valid writer produces. The header is not padded or checked.
std::string raw_safetensors(const std::string& header_json, const std::string& data);

}  // namespace cascade

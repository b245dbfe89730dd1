#include "model/safetensors_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "model/safetensors.h"

namespace cascade {

namespace {

std::string u64_le(uint64_t v) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return bytes;
}

size_t tensor_nbytes(const TensorHeader& t, const std::string& path) {
  for (int64_t d : t.shape) {
    check(d >= 0, path + ": tensor '" + t.name + "' has a negative dimension in shape " +
                      shape_string(t.shape));
  }
  return static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype);
}

// The header JSON (tensors in the given order, data laid out back to back), padded with
// spaces so that the data starts 8-byte aligned.
std::string make_header(const std::vector<TensorHeader>& headers, const std::string& path) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};  // what transformers expects of torch files
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const TensorHeader& t : headers) {
    check(!t.name.empty() && t.name != "__metadata__",
          path + ": invalid tensor name '" + t.name + "'");
    check(names.insert(t.name).second, path + ": tensor '" + t.name + "' written twice");
    const uint64_t end = offset + tensor_nbytes(t, path);
    header[t.name] = {{"dtype", std::string(safetensors_dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorHeader>& headers,
                       const TensorFiller& fill) {
  const std::string header = make_header(headers, path);
  const std::string temp = path + ".partial";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(out), path + ": cannot create " + temp);
    out << u64_le(header.size()) << header;
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < headers.size(); ++i) {
      bytes.clear();
      fill(i, bytes);
      const size_t expected = tensor_nbytes(headers[i], path);
      if (bytes.size() != expected) {
        out.close();
        std::filesystem::remove(temp);
        throw Error(
            path + ": tensor '" + headers[i].name + "' has " + std::to_string(bytes.size()) +
            " bytes, shape " + shape_string(headers[i].shape) + " of " +
            std::string(dtype_name(headers[i].dtype)) + " needs " + std::to_string(expected));
      }
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
    }
    out.flush();
    check(static_cast<bool>(out), path + ": write failed");
  }
  std::filesystem::rename(temp, path);
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
  std::vector<TensorHeader> headers;
  headers.reserve(tensors.size());
  for (const TensorToWrite& t : tensors) headers.push_back({t.name, t.dtype, t.shape});
  write_safetensors(path, headers,
                    [&](size_t i, std::vector<uint8_t>& bytes) { bytes = tensors[i].bytes; });
}

TensorToWrite tensor_from_f32(const std::string& name, DType dtype, Shape shape,
                              const std::vector<float>& values) {
  check(static_cast<int64_t>(values.size()) == shape_numel(shape),
        "tensor '" + name + "': " + std::to_string(values.size()) + " values for shape " +
            shape_string(shape));
  TensorToWrite t{name, dtype, std::move(shape), {}};
  t.bytes.resize(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i) {
    uint8_t* dst = t.bytes.data() + i * dtype_size(dtype);
    if (dtype == DType::F32) {
      std::memcpy(dst, &values[i], 4);
    } else if (dtype == DType::BF16 || dtype == DType::F16) {
      const uint16_t h = dtype == DType::BF16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      std::memcpy(dst, &h, 2);
    } else {
      throw Error("tensor '" + name + "': cannot write f32 values as " +
                  std::string(dtype_name(dtype)));
    }
  }
  return t;
}

std::string raw_safetensors(const std::string& header_json, const std::string& data) {
  return u64_le(header_json.size()) + header_json + data;
}

}  // namespace cascade

#include "model/safetensors.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "base/json_error.h"

namespace cascade {

using json = nlohmann::json;

namespace {

constexpr std::array<std::pair<DType, std::string_view>, 5> kDtypeNames = {{
    {DType::F32, "F32"},
    {DType::F16, "F16"},
    {DType::BF16, "BF16"},
    {DType::I32, "I32"},
    {DType::I64, "I64"},
}};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses the header, refusing duplicate top-level keys (nlohmann would keep only the last).
json parse_header(const uint8_t* begin, const uint8_t* end, const std::string& path) {
  std::set<std::string> keys;
  std::string duplicate;
  const auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && !keys.insert(parsed).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, on_event);
  } catch (const json::exception& e) {
    throw Error(path + ": header is not valid JSON: " + json_error_text(e));
  }
  check(header.is_object(), path + ": header must be a JSON object");
  check(duplicate.empty(), path + ": tensor '" + duplicate + "' appears twice in the header");
  return header;
}

uint64_t unsigned_field(const json& v, const std::string& what, const std::string& path) {
  check(v.is_number_unsigned(),
        path + ": " + what + " must be a non-negative integer, got " + v.dump());
  return v.get<uint64_t>();
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

// Validates one header entry against the data section of `data_size` bytes.
TensorRecord read_entry(const std::string& name, const json& entry, const uint8_t* data,
                        uint64_t data_size, const std::string& path, Span& span) {
  const std::string where = path + ": tensor '" + name + "'";
  check(entry.is_object(), where + " must be an object, got " + entry.dump());
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    check(entry.contains(key), where + " has no '" + key + "'");
  }

  TensorRecord r;
  r.name = name;
  r.file = path;
  const json& dtype = entry["dtype"];
  check(dtype.is_string(), where + " field 'dtype' must be a string, got " + dtype.dump());
  const std::optional<DType> parsed = parse_safetensors_dtype(dtype.get<std::string>());
  check(parsed.has_value(), where + " has unsupported dtype '" + dtype.get<std::string>() + "'");
  r.dtype = *parsed;

  const json& shape = entry["shape"];
  check(shape.is_array(), where + " field 'shape' must be an array, got " + shape.dump());
  uint64_t numel = 1;
  for (const json& d : shape) {
    const uint64_t dim = unsigned_field(d, "tensor '" + name + "' shape entries", path);
    check(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
              (dim == 0 || numel <= std::numeric_limits<uint64_t>::max() / dim),
          where + " has an impossibly large shape " + shape.dump());
    numel *= dim;
    r.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = entry["data_offsets"];
  check(offsets.is_array() && offsets.size() == 2,
        where + " field 'data_offsets' must be [begin, end], got " + offsets.dump());
  span.begin = unsigned_field(offsets[0], "tensor '" + name + "' data_offsets", path);
  span.end = unsigned_field(offsets[1], "tensor '" + name + "' data_offsets", path);
  span.name = name;
  check(span.begin <= span.end,
        where + " has data_offsets " + offsets.dump() + " with begin > end");
  check(span.end <= data_size, where + " has data_offsets " + offsets.dump() +
                                   " past the end of the data (" + std::to_string(data_size) +
                                   " bytes)");
  const uint64_t element = dtype_size(r.dtype);
  const uint64_t nbytes = span.end - span.begin;
  check(numel <= nbytes / element && numel * element == nbytes,
        where + " has " + std::to_string(nbytes) + " bytes in data_offsets but shape " +
            shape_string(r.shape) + " of " + dtype.get<std::string>() + " needs " +
            (numel <= data_size ? std::to_string(numel * element) : std::string("more")));
  r.data = data + span.begin;
  r.nbytes = static_cast<size_t>(nbytes);
  return r;
}

// The tensors must tile the data section exactly, as the safetensors format requires: no
// overlap, no hole, nothing after the last one. This also catches a header length that is
// off by a few bytes of header padding, which would otherwise shift every tensor.
void check_tensors_tile_the_data(std::vector<Span>& spans, uint64_t data_size,
                                 const std::string& path) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;  // end of the tensors seen so far
  std::string last = "the start of the data";
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (i > 0) {
      const Span& a = spans[i - 1];
      check(s.begin >= a.end, path + ": tensors '" + a.name + "' [" + std::to_string(a.begin) +
                                  ", " + std::to_string(a.end) + ") and '" + s.name + "' [" +
                                  std::to_string(s.begin) + ", " + std::to_string(s.end) +
                                  ") overlap in the data");
    }
    check(s.begin == covered, path + ": no tensor covers bytes [" + std::to_string(covered) + ", " +
                                  std::to_string(s.begin) + ") of the data, after " + last);
    covered = s.end;
    last = "tensor '" + s.name + "'";
  }
  check(covered == data_size, path + ": the data section has " + std::to_string(data_size) +
                                  " bytes but its tensors end at byte " + std::to_string(covered) +
                                  " (a wrong header length or a damaged file)");
}

}  // namespace

std::string_view safetensors_dtype_name(DType dtype) {
  for (const auto& [t, name] : kDtypeNames) {
    if (t == dtype) return name;
  }
  return "?";
}

std::optional<DType> parse_safetensors_dtype(std::string_view name) {
  for (const auto& [t, n] : kDtypeNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::vector<TensorRecord> parse_safetensors(std::span<const uint8_t> bytes,
                                            const std::string& path) {
  const uint64_t size = bytes.size();
  check(size >= 8, path + ": file is " + std::to_string(size) +
                       " bytes, too short for a safetensors header (8 bytes at least)");
  const uint64_t header_size = read_u64_le(bytes.data());
  check(header_size <= size - 8, path + ": header length " + std::to_string(header_size) +
                                     " runs past the end of the file (" + std::to_string(size) +
                                     " bytes)");
  const uint8_t* header_begin = bytes.data() + 8;
  const uint8_t* data = header_begin + header_size;
  const uint64_t data_size = size - 8 - header_size;
  const json header = parse_header(header_begin, data, path);

  std::vector<TensorRecord> records;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;  // free-form strings, e.g. {"format": "pt"}
    Span span;
    records.push_back(read_entry(name, entry, data, data_size, path, span));
    spans.push_back(std::move(span));
  }
  check_tensors_tile_the_data(spans, data_size, path);
  return records;
}

void SafetensorsModel::add_file(const std::string& path) {
  auto file = std::make_unique<MappedFile>(path);
  std::vector<TensorRecord> records = parse_safetensors({file->data(), file->size()}, path);
  for (TensorRecord& r : records) {
    const auto existing = tensors_.find(r.name);
    check(existing == tensors_.end(),
          path + ": tensor '" + r.name + "' is also in " +
              (existing == tensors_.end() ? std::string() : existing->second.file));
    std::string name = r.name;
    tensors_.emplace(std::move(name), std::move(r));
  }
  files_.push_back(std::move(file));
}

SafetensorsModel SafetensorsModel::open_file(const std::string& path) {
  check(std::filesystem::is_regular_file(path), path + ": file not found");
  SafetensorsModel model;
  model.source_ = path;
  model.add_file(path);
  return model;
}

SafetensorsModel SafetensorsModel::open(const std::string& model_dir) {
  namespace fs = std::filesystem;
  check(fs::is_directory(model_dir), model_dir + ": model folder not found");
  SafetensorsModel model;
  model.source_ = model_dir;
  const fs::path dir(model_dir);
  const std::string single = (dir / "model.safetensors").string();
  const std::string index_path = (dir / "model.safetensors.index.json").string();
  if (fs::exists(single)) {
    model.add_file(single);
    return model;
  }
  check(fs::exists(index_path),
        model_dir + ": no model.safetensors or model.safetensors.index.json in the folder");

  json index;
  try {
    index = json::parse(read_text_file(index_path));
  } catch (const json::exception& e) {
    throw Error(index_path + ": not valid JSON: " + json_error_text(e));
  }
  check(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
        index_path + ": field 'weight_map' must be an object of tensor name -> file name");
  const json& weight_map = index["weight_map"];
  check(!weight_map.empty(), index_path + ": field 'weight_map' is empty");

  // Each shard is opened once, in the order the index first names it.
  std::vector<std::string> opened;
  for (const auto& [name, shard] : weight_map.items()) {
    check(shard.is_string(), index_path + ": weight_map entry '" + name +
                                 "' must be a file name, got " + shard.dump());
    const std::string file = shard.get<std::string>();
    check(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..",
          index_path + ": weight_map entry '" + name + "' names '" + file +
              "', which is not a plain file name");
    const std::string path = (dir / file).string();
    if (std::find(opened.begin(), opened.end(), path) != opened.end()) continue;
    check(fs::is_regular_file(path),
          index_path + ": shard '" + file + "' (for tensor '" + name + "') not found: " + path);
    model.add_file(path);
    opened.push_back(path);
  }
  for (const auto& [name, shard] : weight_map.items()) {
    const std::string path = (dir / shard.get<std::string>()).string();
    const auto it = model.tensors_.find(name);
    check(it != model.tensors_.end() && it->second.file == path,
          index_path + ": tensor '" + name + "' is missing from its shard " + path);
  }
  return model;
}

const TensorRecord& SafetensorsModel::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  check(it != tensors_.end(), source_ + ": missing tensor '" + name + "'");
  return it->second;
}

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& entry : tensors_) out.push_back(entry.first);
  return out;
}

std::vector<std::string> SafetensorsModel::files() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->path());
  return out;
}

}  // namespace cascade

#include "model/model_config.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/error.h"
#include "base/json_error.h"
#include "base/mapped_file.h"
#include "model/architecture.h"

namespace cascade {

using json = nlohmann::json;

namespace {

json parse_json_object(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + ": not valid JSON: " + json_error_text(e));
  }
  check(j.is_object(), source + ": expected a JSON object at the top level");
  return j;
}

// Typed, validated access to the fields of one JSON object; errors name file and field.
class Fields {
 public:
  Fields(const json& object, const std::string& source) : object_(object), source_(source) {}

  // The field's value, or null when absent or JSON null (both mean "not set" in HF configs).
  const json* find(const std::string& key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(source_ + ": field '" + key + "' " + what);
  }

  int positive_int(const std::string& key) const {
    const json* v = find(key);
    if (!v) fail(key, "is missing");
    return positive_int_value(key, *v);
  }

  int positive_int_or(const std::string& key, int fallback) const {
    const json* v = find(key);
    return v ? positive_int_value(key, *v) : fallback;
  }

  int token_id(const std::string& key, const json& v) const {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > static_cast<uint64_t>(INT_MAX)) {
      fail(key, "must hold non-negative integer token ids, got " + v.dump());
    }
    return v.get<int>();
  }

  double positive_number(const std::string& key, const json& v) const {
    if (!v.is_number() || !(v.get<double>() > 0)) {
      fail(key, "must be a positive number, got " + v.dump());
    }
    return v.get<double>();
  }

  bool boolean_or(const std::string& key, bool fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(key, "must be true or false, got " + v->dump());
    return v->get<bool>();
  }

  std::optional<std::string> optional_string(const std::string& key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, "must be a string, got " + v->dump());
    return v->get<std::string>();
  }

  // An int or a list of ints (eos_token_id), appended to `ids` without duplicates.
  void merge_token_ids(const std::string& key, std::vector<int>& ids) const {
    const json* v = find(key);
    if (!v) return;
    const json list = v->is_array() ? *v : json::array({*v});
    for (const json& id : list) {
      const int t = token_id(key, id);
      if (std::find(ids.begin(), ids.end(), t) == ids.end()) ids.push_back(t);
    }
  }

 private:
  int positive_int_value(const std::string& key, const json& v) const {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 ||
        v.get<uint64_t>() > static_cast<uint64_t>(INT_MAX)) {
      fail(key, "must be a positive integer, got " + v.dump());
    }
    return v.get<int>();
  }

  const json& object_;
  const std::string& source_;
};

const ArchitectureSpec& read_architecture(const Fields& f, const std::string& source) {
  const json* list = f.find("architectures");
  if (!list) f.fail("architectures", "is missing");
  if (!list->is_array() || list->empty() || !(*list)[0].is_string()) {
    f.fail("architectures", "must be a non-empty list of strings, got " + list->dump());
  }
  const std::string name = (*list)[0].get<std::string>();
  const ArchitectureSpec* spec = find_architecture(name);
  if (!spec) {
    throw Error(source + ": unknown architecture '" + name +
                "' (supported: " + supported_architectures() + ")");
  }
  return *spec;
}

DType read_torch_dtype(const Fields& f) {
  // transformers 5 writes "dtype"; older versions "torch_dtype". Absent means float32, as
  // in transformers; it is informational only (the tensors carry their own dtype).
  const char* key = f.find("dtype") ? "dtype" : "torch_dtype";
  const std::optional<std::string> name = f.optional_string(key);
  if (!name || *name == "float32") return DType::F32;
  if (*name == "bfloat16") return DType::BF16;
  if (*name == "float16") return DType::F16;
  f.fail(key, "must be \"bfloat16\", \"float16\" or \"float32\", got \"" + *name + "\"");
}

// rope_scaling (transformers 4) and rope_parameters (transformers 5) may only describe
// plain RoPE; returns the rope_theta the object carries, if any.
std::optional<double> read_plain_rope(const Fields& f, const std::string& key) {
  const json* v = f.find(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) f.fail(key, "must be an object or null, got " + v->dump());
  std::optional<double> theta;
  for (const auto& [name, value] : v->items()) {
    if ((name == "rope_type" || name == "type") && value == "default") continue;
    if (name == "rope_theta") {
      theta = f.positive_number(key + ".rope_theta", value);
      continue;
    }
    f.fail(key, "is not supported (only plain RoPE is): " + v->dump());
  }
  return theta;
}

double read_rope_theta(const Fields& f) {
  read_plain_rope(f, "rope_scaling");
  const std::optional<double> nested = read_plain_rope(f, "rope_parameters");
  const json* top = f.find("rope_theta");
  if (!top && !nested)
    f.fail("rope_theta", "is missing (neither top-level nor in rope_parameters)");
  if (!top) return *nested;
  const double theta = f.positive_number("rope_theta", *top);
  if (nested && *nested != theta) {
    f.fail("rope_theta", "disagrees with rope_parameters.rope_theta (" + top->dump() + " vs " +
                             json(*nested).dump() + ")");
  }
  return theta;
}

// Features of the HF classes that this engine does not implement are refused, not ignored.
void check_unsupported_features(const Fields& f, const ModelConfig& c) {
  if (const auto act = f.optional_string("hidden_act"); act && *act != "silu") {
    f.fail("hidden_act", "must be \"silu\", got \"" + *act + "\"");
  }
  if (f.boolean_or("use_sliding_window", false)) {
    f.fail("use_sliding_window", "is true: sliding-window attention is not supported");
  }
  if (const json* types = f.find("layer_types")) {
    if (!types->is_array() || types->size() != static_cast<size_t>(c.num_hidden_layers)) {
      f.fail("layer_types", "must list one type per layer (" + std::to_string(c.num_hidden_layers) +
                                "), got " + types->dump());
    }
    for (const json& t : *types) {
      if (t != "full_attention") {
        f.fail("layer_types", "must be all \"full_attention\", got " + t.dump());
      }
    }
  }
}

void check_geometry(const Fields& f, const ModelConfig& c) {
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    f.fail("num_key_value_heads", "(" + std::to_string(c.num_key_value_heads) +
                                      ") must divide num_attention_heads (" +
                                      std::to_string(c.num_attention_heads) + ")");
  }
  if (c.head_dim % 2 != 0) {
    f.fail("head_dim", "(" + std::to_string(c.head_dim) + ") must be even for RoPE");
  }
  if (!(c.rms_norm_eps > 0)) f.fail("rms_norm_eps", "must be a positive number");
}

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  const json j = parse_json_object(json_text, source);
  const Fields f(j, source);
  const ArchitectureSpec& spec = read_architecture(f, source);

  ModelConfig c;
  c.architecture = spec.id;
  c.architecture_name = std::string(spec.hf_name);
  c.vocab_size = f.positive_int("vocab_size");
  c.hidden_size = f.positive_int("hidden_size");
  c.intermediate_size = f.positive_int("intermediate_size");
  c.num_hidden_layers = f.positive_int("num_hidden_layers");
  c.num_attention_heads = f.positive_int("num_attention_heads");
  c.num_key_value_heads = f.positive_int_or("num_key_value_heads", c.num_attention_heads);
  if (f.find("head_dim")) {
    c.head_dim = f.positive_int("head_dim");
  } else if (c.hidden_size % c.num_attention_heads != 0) {
    f.fail("hidden_size", "(" + std::to_string(c.hidden_size) +
                              ") is not a multiple of num_attention_heads (" +
                              std::to_string(c.num_attention_heads) + ") and head_dim is not set");
  } else {
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  c.max_position_embeddings = f.positive_int("max_position_embeddings");
  c.rope_theta = read_rope_theta(f);
  if (const json* eps = f.find("rms_norm_eps")) {
    c.rms_norm_eps = static_cast<float>(f.positive_number("rms_norm_eps", *eps));
  }
  c.tie_word_embeddings = f.boolean_or("tie_word_embeddings", false);
  c.torch_dtype = read_torch_dtype(f);
  c.qk_norm = spec.qk_norm;
  c.attention_bias = spec.qkv_bias;
  if (spec.reads_attention_bias && f.boolean_or("attention_bias", false)) {
    f.fail("attention_bias",
           "is true: a bias on o_proj is not supported for " + c.architecture_name);
  }
  if (const json* bos = f.find("bos_token_id")) c.bos_token_id = f.token_id("bos_token_id", *bos);
  f.merge_token_ids("eos_token_id", c.eos_token_ids);
  check_unsupported_features(f, c);
  check_geometry(f, c);
  return c;
}

ModelConfig load_model_config(const std::string& model_dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(model_dir)) {
    throw Error(model_dir +
                (fs::exists(model_dir) ? ": not a folder" : ": model folder not found"));
  }
  const std::string config_path = (fs::path(model_dir) / "config.json").string();
  check(fs::is_regular_file(config_path), config_path + ": not found");
  ModelConfig config = parse_model_config(read_text_file(config_path), config_path);

  // generation_config.json is optional; when present it may add end-of-sequence ids.
  const std::string generation_path = (fs::path(model_dir) / "generation_config.json").string();
  if (fs::exists(generation_path)) {
    const json g = parse_json_object(read_text_file(generation_path), generation_path);
    Fields(g, generation_path).merge_token_ids("eos_token_id", config.eos_token_ids);
  }
  return config;
}

std::string torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::BF16:
      return "bfloat16";
    case DType::F16:
      return "float16";
    case DType::F32:
      return "float32";
    default:
      throw Error("config.json has no name for dtype " + std::string(dtype_name(dtype)));
  }
}

// 1e-6f as 1e-06 rather than 9.999999974752427e-07: the float's shortest decimal form.
static double shortest_decimal(float value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof(text), value);
  return std::strtod(std::string(text, result.ptr).c_str(), nullptr);
}

std::string model_config_json(const ModelConfig& c) {
  const ArchitectureSpec& spec = architecture_spec(c.architecture);
  nlohmann::ordered_json j;
  j["architectures"] = {std::string(spec.hf_name)};
  j["model_type"] = std::string(spec.model_type);
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = nullptr;
  j["rms_norm_eps"] = shortest_decimal(c.rms_norm_eps);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (spec.reads_attention_bias) j["attention_bias"] = false;
  j["torch_dtype"] = torch_dtype_name(c.torch_dtype);
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] =
      c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids);
  j["use_sliding_window"] = false;
  return j.dump(2) + "\n";
}

}  // namespace cascade

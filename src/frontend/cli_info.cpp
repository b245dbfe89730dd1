// `cascade info --model DIR [--json]`: what a model folder holds, without loading weights.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "frontend/cli.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace cascade {

namespace {

// 751632384 -> "0.8B", 3215360 -> "3.2M": one decimal of the largest unit it reaches 0.1 of.
std::string human_count(uint64_t n) {
  const double v = static_cast<double>(n);
  char text[32];
  if (v >= 1e8) {
    std::snprintf(text, sizeof(text), "%.1fB", v / 1e9);
  } else if (v >= 1e5) {
    std::snprintf(text, sizeof(text), "%.1fM", v / 1e6);
  } else if (v >= 1e2) {
    std::snprintf(text, sizeof(text), "%.1fK", v / 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%llu", static_cast<unsigned long long>(n));
  }
  return text;
}

// 1e-6f as 1e-06, not 9.999999974752427e-07: the float's shortest decimal form.
double shortest_decimal(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof(text), value).ptr;
  return std::strtod(std::string(text, end).c_str(), nullptr);
}

nlohmann::ordered_json describe(const std::string& model_dir) {
  const ModelConfig config = load_model_config(model_dir);
  const SafetensorsModel checkpoint = SafetensorsModel::open(model_dir);
  uint64_t parameters = 0;
  std::set<std::string> dtypes;
  for (const std::string& name : checkpoint.names()) {
    const TensorRecord& r = checkpoint.get(name);
    parameters += static_cast<uint64_t>(shape_numel(r.shape));
    dtypes.insert(std::string(dtype_name(r.dtype)));
  }
  nlohmann::ordered_json j;
  j["architecture"] = config.architecture_name;
  j["parameters"] = parameters;
  j["parameters_human"] = human_count(parameters);
  j["dtype"] = dtypes.size() == 1 ? *dtypes.begin() : dtypes.empty() ? "none" : "mixed";
  j["layers"] = config.num_hidden_layers;
  j["q_heads"] = config.num_attention_heads;
  j["kv_heads"] = config.num_key_value_heads;
  j["head_dim"] = config.head_dim;
  j["hidden"] = config.hidden_size;
  j["intermediate"] = config.intermediate_size;
  j["vocab_size"] = config.vocab_size;
  j["max_positions"] = config.max_position_embeddings;
  j["rope_theta"] = config.rope_theta;
  j["rms_norm_eps"] = shortest_decimal(config.rms_norm_eps);
  j["qk_norm"] = config.qk_norm;
  j["qkv_bias"] = config.attention_bias;
  j["tied_embeddings"] = config.tie_word_embeddings;
  j["eos_token_ids"] = config.eos_token_ids;
  j["files"] = checkpoint.files().size();
  return j;
}

void print_text(const nlohmann::ordered_json& j) {
  for (const auto& [key, value] : j.items()) {
    if (key == "parameters_human") continue;
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (key == "parameters") text += " (" + j["parameters_human"].get<std::string>() + ")";
    std::cout << key << std::string(key.size() < 16 ? 16 - key.size() : 1, ' ') << text << "\n";
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "describe a model folder (config.json + safetensors)");
  auto model_dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_dir, "Hugging Face model folder")->required();
  cmd->add_flag("--json", *as_json, "print one JSON object instead of text");
  cmd->callback([model_dir, as_json] {
    const nlohmann::ordered_json j = describe(*model_dir);
    if (*as_json) {
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(j);
    }
  });
}

}  // namespace cascade

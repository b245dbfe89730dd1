#include "model/model_config.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "expect_error.h"
#include "test_paths.h"
#include "tiny_checkpoint.h"

namespace cascade {
namespace {

using json = nlohmann::json;
using test::expect_error;

// config.json of Qwen/Qwen3-0.6B as published (transformers 4.51).
const char* kQwen3_0_6B = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
})";

// config.json of Qwen/Qwen2.5-0.5B-Instruct as published (no head_dim, no attention_bias).
const char* kQwen25_0_5B = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936
})";

const std::string kSource = "models/x/config.json";

// Qwen3-0.6B's config with `edit` applied, parsed.
ModelConfig parse_edited(const std::function<void(json&)>& edit) {
  json j = json::parse(kQwen3_0_6B);
  edit(j);
  return parse_model_config(j.dump(), kSource);
}

void expect_field_error(const std::function<void(json&)>& edit, const std::string& field,
                        const std::string& detail = "") {
  std::vector<std::string> parts = {kSource + ": field '" + field + "'"};
  if (!detail.empty()) parts.push_back(detail);
  expect_error([&] { parse_edited(edit); }, parts);
}

TEST(ModelConfig, ParsesQwen3_0_6B) {
  const ModelConfig c = parse_model_config(kQwen3_0_6B, kSource);
  EXPECT_EQ(c.architecture, Architecture::Qwen3);
  EXPECT_EQ(c.architecture_name, "Qwen3ForCausalLM");
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_attention_heads, 16);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);  // explicit: differs from hidden / heads = 64
  EXPECT_EQ(c.q_dim(), 2048);
  EXPECT_EQ(c.kv_dim(), 1024);
  EXPECT_EQ(c.max_position_embeddings, 40960);
  EXPECT_EQ(c.rope_theta, 1000000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.torch_dtype, DType::BF16);
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{151645});
}

TEST(ModelConfig, ParsesQwen25_0_5B) {
  const ModelConfig c = parse_model_config(kQwen25_0_5B, kSource);
  EXPECT_EQ(c.architecture, Architecture::Qwen2);
  EXPECT_EQ(c.hidden_size, 896);
  EXPECT_EQ(c.num_attention_heads, 14);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 64);  // 896 / 14
  EXPECT_EQ(c.num_hidden_layers, 24);
  EXPECT_EQ(c.intermediate_size, 4864);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  EXPECT_TRUE(c.attention_bias);  // Qwen2: q/k/v always carry a bias
  EXPECT_FALSE(c.qk_norm);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(ModelConfig, DefaultsFollowTransformers) {
  const ModelConfig c = parse_edited([](json& j) {
    for (const char* key : {"num_key_value_heads", "head_dim", "tie_word_embeddings", "torch_dtype",
                            "rms_norm_eps", "attention_bias", "bos_token_id"}) {
      j.erase(key);
    }
    j["eos_token_id"] = nullptr;
  });
  EXPECT_EQ(c.num_key_value_heads, 16);  // = num_attention_heads
  EXPECT_EQ(c.head_dim, 64);             // hidden_size / num_attention_heads
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, DType::F32);
  EXPECT_EQ(c.rms_norm_eps, 1e-6f);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(ModelConfig, ReadsTransformers5Spelling) {
  // transformers 5 writes "dtype" and nests rope_theta in rope_parameters.
  const ModelConfig c = parse_edited([](json& j) {
    j.erase("torch_dtype");
    j.erase("rope_theta");
    j.erase("rope_scaling");
    j["dtype"] = "float16";
    j["rope_parameters"] = {{"rope_theta", 5000000.0}, {"rope_type", "default"}};
    j["layer_types"] = json(std::vector<std::string>(28, "full_attention"));
  });
  EXPECT_EQ(c.torch_dtype, DType::F16);
  EXPECT_EQ(c.rope_theta, 5000000.0);
}

TEST(ModelConfig, EosTokenIdMayBeAList) {
  const ModelConfig c = parse_edited([](json& j) { j["eos_token_id"] = {151645, 151643, 151645}; });
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{151645, 151643}));
}

TEST(ModelConfig, GenerationConfigAddsEosIds) {
  const std::string dir = test::temp_dir("model");
  test::write_text(dir + "/config.json", kQwen3_0_6B);
  test::write_text(dir + "/generation_config.json",
                   R"({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "top_k": 20})");
  EXPECT_EQ(load_model_config(dir).eos_token_ids, (std::vector<int>{151645, 151643}));
}

TEST(ModelConfig, GenerationConfigIsOptional) {
  const std::string dir = test::temp_dir("model");
  test::write_text(dir + "/config.json", kQwen3_0_6B);
  EXPECT_EQ(load_model_config(dir).eos_token_ids, std::vector<int>{151645});
}

TEST(ModelConfig, JsonRoundTrips) {
  for (const ModelConfig& c : {test::tiny_qwen3_config(), test::tiny_qwen2_config()}) {
    const ModelConfig back = parse_model_config(model_config_json(c), kSource);
    EXPECT_EQ(back.architecture, c.architecture);
    EXPECT_EQ(back.architecture_name, c.architecture_name);
    EXPECT_EQ(back.vocab_size, c.vocab_size);
    EXPECT_EQ(back.hidden_size, c.hidden_size);
    EXPECT_EQ(back.intermediate_size, c.intermediate_size);
    EXPECT_EQ(back.num_hidden_layers, c.num_hidden_layers);
    EXPECT_EQ(back.num_attention_heads, c.num_attention_heads);
    EXPECT_EQ(back.num_key_value_heads, c.num_key_value_heads);
    EXPECT_EQ(back.head_dim, c.head_dim);
    EXPECT_EQ(back.max_position_embeddings, c.max_position_embeddings);
    EXPECT_EQ(back.rope_theta, c.rope_theta);
    EXPECT_EQ(back.rms_norm_eps, c.rms_norm_eps);
    EXPECT_EQ(back.tie_word_embeddings, c.tie_word_embeddings);
    EXPECT_EQ(back.attention_bias, c.attention_bias);
    EXPECT_EQ(back.qk_norm, c.qk_norm);
    EXPECT_EQ(back.torch_dtype, c.torch_dtype);
    EXPECT_EQ(back.eos_token_ids, c.eos_token_ids);
    EXPECT_EQ(back.bos_token_id, c.bos_token_id);
  }
  EXPECT_NE(model_config_json(test::tiny_qwen3_config()).find("\"rms_norm_eps\": 1e-06"),
            std::string::npos);
}

// --- errors: each names the file and the field ---

TEST(ModelConfigErrors, MissingFolder) {
  const std::string dir = test::temp_dir("model") + "/absent";
  expect_error([&] { load_model_config(dir); }, {dir + ": model folder not found"});
}

TEST(ModelConfigErrors, MissingConfigJson) {
  const std::string dir = test::temp_dir("model");
  expect_error([&] { load_model_config(dir); }, {dir + "/config.json: not found"});
}

TEST(ModelConfigErrors, NotJson) {
  const std::string dir = test::temp_dir("model");
  test::write_text(dir + "/config.json", "{\"hidden_size\": 64,");
  expect_error([&] { load_model_config(dir); }, {dir + "/config.json: not valid JSON"});
}

TEST(ModelConfigErrors, NotAnObject) {
  expect_error([] { parse_model_config("[1, 2]", kSource); },
               {kSource + ": expected a JSON object"});
}

TEST(ModelConfigErrors, UnknownArchitecture) {
  const std::string dir = test::temp_dir("model");
  json j = json::parse(kQwen3_0_6B);
  j["architectures"] = {"LlamaForCausalLM"};
  test::write_text(dir + "/config.json", j.dump());
  expect_error([&] { load_model_config(dir); },
               {dir + "/config.json: unknown architecture 'LlamaForCausalLM' (supported: "
                      "Qwen3ForCausalLM, Qwen2ForCausalLM)"});
}

TEST(ModelConfigErrors, ArchitecturesMissingOrMalformed) {
  expect_field_error([](json& j) { j.erase("architectures"); }, "architectures", "missing");
  expect_field_error([](json& j) { j["architectures"] = json::array(); }, "architectures");
  expect_field_error([](json& j) { j["architectures"] = "Qwen3ForCausalLM"; }, "architectures");
}

TEST(ModelConfigErrors, WrongTypeForHiddenSize) {
  expect_field_error([](json& j) { j["hidden_size"] = "1024"; }, "hidden_size",
                     "must be a positive integer, got \"1024\"");
  expect_field_error([](json& j) { j["hidden_size"] = 1024.5; }, "hidden_size");
  expect_field_error([](json& j) { j["hidden_size"] = 0; }, "hidden_size");
  expect_field_error([](json& j) { j["hidden_size"] = -8; }, "hidden_size");
  expect_field_error([](json& j) { j["hidden_size"] = 5000000000ULL; }, "hidden_size");
}

TEST(ModelConfigErrors, RequiredFieldsMissing) {
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "max_position_embeddings"}) {
    expect_field_error([&](json& j) { j.erase(key); }, key, "is missing");
  }
}

TEST(ModelConfigErrors, KvHeadsMustDivideHeads) {
  expect_field_error([](json& j) { j["num_key_value_heads"] = 6; }, "num_key_value_heads",
                     "must divide num_attention_heads (16)");
  expect_field_error([](json& j) { j["num_key_value_heads"] = 32; }, "num_key_value_heads");
}

TEST(ModelConfigErrors, HeadDimMustBeEvenAndDerivable) {
  expect_field_error([](json& j) { j["head_dim"] = 63; }, "head_dim", "even");
  expect_field_error(
      [](json& j) {
        j.erase("head_dim");
        j["hidden_size"] = 1000;
      },
      "hidden_size", "not a multiple of num_attention_heads");
}

TEST(ModelConfigErrors, WrongTypes) {
  expect_field_error([](json& j) { j["tie_word_embeddings"] = "yes"; }, "tie_word_embeddings");
  expect_field_error([](json& j) { j["rope_theta"] = -1; }, "rope_theta");
  expect_field_error([](json& j) { j["rope_theta"] = "1e6"; }, "rope_theta");
  expect_field_error([](json& j) { j["rms_norm_eps"] = 0; }, "rms_norm_eps");
  expect_field_error([](json& j) { j["torch_dtype"] = "float8"; }, "torch_dtype", "float8");
  expect_field_error([](json& j) { j["eos_token_id"] = "</s>"; }, "eos_token_id");
  expect_field_error([](json& j) { j["eos_token_id"] = {1, -2}; }, "eos_token_id");
  expect_field_error([](json& j) { j["bos_token_id"] = 1.5; }, "bos_token_id");
}

TEST(ModelConfigErrors, RopeScalingIsUnsupported) {
  expect_field_error(
      [](json& j) {
        j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
      },
      "rope_scaling", "not supported");
  expect_field_error(
      [](json& j) {
        j["rope_parameters"] = {{"rope_type", "linear"}};
      },
      "rope_parameters", "not supported");
}

TEST(ModelConfigErrors, RopeThetaMissingOrContradicted) {
  expect_field_error([](json& j) { j.erase("rope_theta"); }, "rope_theta", "missing");
  expect_field_error(
      [](json& j) {
        j["rope_parameters"] = {{"rope_theta", 10000.0}};
      },
      "rope_theta", "disagrees");
}

TEST(ModelConfigErrors, UnsupportedFeatures) {
  expect_field_error([](json& j) { j["attention_bias"] = true; }, "attention_bias");
  expect_field_error([](json& j) { j["use_sliding_window"] = true; }, "use_sliding_window");
  expect_field_error([](json& j) { j["hidden_act"] = "gelu"; }, "hidden_act");
  expect_field_error(
      [](json& j) {
        std::vector<std::string> types(28, "full_attention");
        types[3] = "sliding_attention";
        j["layer_types"] = types;
      },
      "layer_types", "sliding_attention");
  expect_field_error([](json& j) { j["layer_types"] = {"full_attention"}; }, "layer_types");
}

TEST(ModelConfigErrors, MalformedGenerationConfigIsNamed) {
  const std::string dir = test::temp_dir("model");
  test::write_text(dir + "/config.json", kQwen3_0_6B);
  test::write_text(dir + "/generation_config.json", R"({"eos_token_id": "end"})");
  expect_error([&] { load_model_config(dir); },
               {dir + "/generation_config.json: field 'eos_token_id'"});
  test::write_text(dir + "/generation_config.json", "not json");
  expect_error([&] { load_model_config(dir); }, {dir + "/generation_config.json: not valid JSON"});
}

}  // namespace
}  // namespace cascade

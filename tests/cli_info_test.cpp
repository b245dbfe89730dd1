#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_paths.h"
#include "tiny_checkpoint.h"

namespace cascade {
namespace {

using json = nlohmann::json;

// Parameters of the tiny Qwen3: embed 48·32, final norm 32, and per layer: norms 2·32,
// q 64·32, k and v 2·32·32, q/k norms 2·16, o 32·64, gate and up 2·40·32, down 32·40.
constexpr int64_t kTinyQwen3Parameters =
    48 * 32 + 32 + 2 * (2 * 32 + 64 * 32 + 2 * 32 * 32 + 2 * 16 + 32 * 64 + 2 * 40 * 32 + 32 * 40);

std::string tiny_qwen3_folder() {
  const std::string dir = test::temp_dir("qwen3");
  const ModelConfig config = test::tiny_qwen3_config();
  test::write_model_folder(dir, config, test::fixture_tensors(config, {DType::BF16}));
  return dir;
}

json info_json(const std::string& dir) {
  std::string out, err;
  const int status =
      test::run_command(test::cli_path() + " info --json --model " + dir, &out, &err);
  EXPECT_EQ(status, 0) << err;
  return json::parse(out);
}

TEST(CliInfo, PrintsTheModelAsText) {
  const std::string dir = tiny_qwen3_folder();
  std::string out, err;
  ASSERT_EQ(test::run_command(test::cli_path() + " info --model " + dir, &out, &err), 0) << err;
  for (const std::string& line : std::vector<std::string>{
           "architecture    Qwen3ForCausalLM\n",
           "parameters      " + std::to_string(kTinyQwen3Parameters) + " (21.7K)\n",
           "dtype           bf16\n", "layers          2\n", "q_heads         4\n",
           "kv_heads        2\n", "head_dim        16\n", "hidden          32\n",
           "intermediate    40\n", "vocab_size      48\n", "max_positions   256\n",
           "rope_theta      1000000.0\n", "rms_norm_eps    1e-06\n", "tied_embeddings true\n",
           "files           1\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << "missing: " << line << "in:\n" << out;
  }
  EXPECT_TRUE(err.empty()) << err;
}

TEST(CliInfo, PrintsJson) {
  const json j = info_json(tiny_qwen3_folder());
  EXPECT_EQ(j["architecture"], "Qwen3ForCausalLM");
  EXPECT_EQ(j["parameters"], kTinyQwen3Parameters);
  EXPECT_EQ(j["parameters_human"], "21.7K");
  EXPECT_EQ(j["dtype"], "bf16");
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["q_heads"], 4);
  EXPECT_EQ(j["kv_heads"], 2);
  EXPECT_EQ(j["head_dim"], 16);
  EXPECT_EQ(j["hidden"], 32);
  EXPECT_EQ(j["intermediate"], 40);
  EXPECT_EQ(j["vocab_size"], 48);
  EXPECT_EQ(j["max_positions"], 256);
  EXPECT_EQ(j["rope_theta"], 1000000.0);
  EXPECT_EQ(j["tied_embeddings"], true);
  EXPECT_EQ(j["qk_norm"], true);
  EXPECT_EQ(j["qkv_bias"], false);
  EXPECT_EQ(j["files"], 1);
}

TEST(CliInfo, MixedDtypesAndShards) {
  const std::string dir = test::temp_dir("qwen2");
  const ModelConfig config = test::tiny_qwen2_config();
  test::write_model_folder(dir, config, test::fixture_tensors(config, {DType::F32, DType::BF16}),
                           /*shards=*/2);
  const json j = info_json(dir);
  EXPECT_EQ(j["architecture"], "Qwen2ForCausalLM");
  EXPECT_EQ(j["dtype"], "mixed");
  EXPECT_EQ(j["files"], 2);
  EXPECT_EQ(j["tied_embeddings"], false);
  EXPECT_EQ(j["qkv_bias"], true);
}

TEST(CliInfo, MissingFolderIsOneLineOnStderr) {
  const std::string dir = test::temp_dir("x") + "/absent";
  std::string out, err;
  EXPECT_NE(test::run_command(test::cli_path() + " info --model " + dir, &out, &err), 0);
  EXPECT_EQ(err, "cascade: error: " + dir + ": model folder not found\n");
  EXPECT_TRUE(out.empty());
}

TEST(CliInfo, BrokenCheckpointIsOneLineOnStderr) {
  const std::string dir = tiny_qwen3_folder();
  test::write_text(dir + "/model.safetensors", "tiny");
  std::string out, err;
  EXPECT_EQ(test::run_command(test::cli_path() + " info --model " + dir, &out, &err), 1);
  EXPECT_EQ(err, "cascade: error: " + dir +
                     "/model.safetensors: file is 4 bytes, too short for "
                     "a safetensors header (8 bytes at least)\n");
}

TEST(CliInfo, GoldenCheckpoints) {
  const json qwen3 = info_json(test::fixture("models/qwen3-tiny"));
  EXPECT_EQ(qwen3["architecture"], "Qwen3ForCausalLM");
  EXPECT_EQ(qwen3["dtype"], "bf16");
  EXPECT_EQ(qwen3["tied_embeddings"], true);
  EXPECT_EQ(qwen3["files"], 1);
  EXPECT_EQ(qwen3["head_dim"], 32);
  // embed 512·64, norm 64; per layer 2·64 + q 128·64 + k, v 64·64 + norms 2·32 + o 64·128
  // + gate, up 128·64 + down 64·128.
  EXPECT_EQ(qwen3["parameters"], 512 * 64 + 64 +
                                     2 * (2 * 64 + 128 * 64 + 2 * 64 * 64 + 2 * 32 + 64 * 128 +
                                          2 * 128 * 64 + 64 * 128));

  const json qwen2 = info_json(test::fixture("models/qwen2-tiny"));
  EXPECT_EQ(qwen2["architecture"], "Qwen2ForCausalLM");
  EXPECT_EQ(qwen2["dtype"], "f32");
  EXPECT_EQ(qwen2["tied_embeddings"], false);
  EXPECT_EQ(qwen2["parameters"], 152128);  // total_parameters in the index transformers wrote
  EXPECT_GE(qwen2["files"], 2);
}

}  // namespace
}  // namespace cascade

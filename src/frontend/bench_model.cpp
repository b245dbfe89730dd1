#include "frontend/bench_model.h"

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "model/random_checkpoint.h"

namespace cascade {
namespace {

ModelConfig small_qwen3(int vocab, int hidden, int intermediate, int layers, int heads,
                        int kv_heads, int head_dim) {
  ModelConfig c = geometry_preset("qwen3-0.6b");
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.eos_token_ids = {vocab - 3, vocab - 1};  // Qwen's order: endoftext, im_start, im_end
  return c;
}

// Hugging Face's byte-level alphabet: printable Latin-1 bytes stand for themselves, the
// others map to U+0100 onwards in byte order.
std::string byte_level_char(int byte) {
  static const std::vector<int> code_points = [] {
    std::vector<int> cps(256);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      cps[static_cast<size_t>(b)] = printable ? b : next++;
    }
    return cps;
  }();
  const int cp = code_points[static_cast<size_t>(byte)];
  std::string utf8;
  if (cp < 0x80) {
    utf8 += static_cast<char>(cp);
  } else {
    utf8 += static_cast<char>(0xC0 | (cp >> 6));
    utf8 += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return utf8;
}

}  // namespace

ModelConfig bench_geometry(const std::string& name) {
  if (name == "cascade-tiny") return small_qwen3(3072, 256, 768, 8, 4, 2, 64);
  if (name == "tiny") return small_qwen3(10240, 64, 128, 2, 4, 2, 32);
  try {
    return geometry_preset(name);
  } catch (const Error&) {
    throw Error("--geometry: unknown geometry '" + name +
                "' (known: qwen3-0.6b, qwen2.5-0.5b, cascade-tiny, tiny)");
  }
}

std::vector<std::string> bench_geometry_names() {
  auto names = geometry_preset_names();
  names.push_back("cascade-tiny");
  names.push_back("tiny");
  return names;
}

std::string synthetic_tokenizer_json(const ModelConfig& config) {
  using nlohmann::json;
  check(!config.eos_token_ids.empty(), "synthetic tokenizer: the geometry has no EOS id");
  // The three specials sit at the lowest EOS id, as Qwen's <|endoftext|> does.
  const int specials = *std::min_element(config.eos_token_ids.begin(), config.eos_token_ids.end());
  check(specials >= 256 && specials + 3 <= config.vocab_size,
        "synthetic tokenizer: EOS ids must leave room for 256 byte tokens");
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(b)] = b;
  for (int id = 256; id < specials; ++id) vocab["<t" + std::to_string(id) + ">"] = id;
  json added = json::array();
  const char* names[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  for (int i = 0; i < 3; ++i) {
    added.push_back({{"id", specials + i},
                     {"content", names[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  json byte_level = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", false},
                     {"use_regex", true}};
  json root = {{"version", "1.0"},
               {"added_tokens", added},
               {"normalizer", nullptr},
               {"pre_tokenizer", byte_level},
               {"post_processor", nullptr},
               {"decoder", byte_level},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", false},
                 {"vocab", vocab},
                 {"merges", json::array()}}}};
  return root.dump();
}

std::string random_bench_model(const std::string& name, const std::string& cache_dir) {
  namespace fs = std::filesystem;
  const ModelConfig config = bench_geometry(name);
  const std::string dir = cache_dir + "/" + name + "-random-bench";
  if (fs::exists(dir + "/model.safetensors") && fs::exists(dir + "/tokenizer.json")) return dir;
  const std::string tmp = dir + ".tmp" + std::to_string(getpid());
  std::fprintf(stderr, "writing random %s weights to %s ...\n", name.c_str(), dir.c_str());
  fs::remove_all(tmp);
  write_random_checkpoint(config, tmp, "", 1);
  {
    std::ofstream f(tmp + "/tokenizer.json");
    f << synthetic_tokenizer_json(config);
    check(static_cast<bool>(f), tmp + "/tokenizer.json: cannot write");
  }
  fs::remove_all(dir);
  fs::rename(tmp, dir);
  return dir;
}

}  // namespace cascade

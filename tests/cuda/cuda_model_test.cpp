// Whole-model logits of DecoderModel on the CUDA backend (bf16) against the CPU backend
// (fp32): the tiny Qwen3 and Qwen2 fixtures, and random weights in the geometry of
// Qwen3-0.6B and Qwen2.5-0.5B (28 and 24 layers). Two steps: a prefill of several prompts
// in one batch (logits at every position), then a decode step of one token per prompt.
//
// Bound, per logits row: max |diff| / max |ref|. bf16 rounds every activation, weight and
// cached K/V to 8 significant bits (relative 2^-9); those errors add up through the
// layers like a random walk and the logits themselves are rounded to bf16. 3e-2 for the
// two-layer fixtures and 1e-1 for the 24/28-layer geometries are what that allows; a wrong
// op, mask or position moves logits by far more.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "cuda_test_util.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/random_checkpoint.h"
#include "model/safetensors.h"
#include "model_loading.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

constexpr int kPageSize = 16;

// Runs prompts through one model: prefill (all rows), then one decode row per prompt.
class TwoStepRunner {
 public:
  TwoStepRunner(const std::string& model_dir, Backend& backend)
      : model_(load_decoder_model(model_dir, backend)) {}

  // Logits [rows, vocab] of the prefill, then of the decode step (tokens `next`).
  std::pair<std::vector<float>, std::vector<float>> run(
      const std::vector<std::vector<int32_t>>& prompts, const std::vector<int32_t>& next) {
    int pages = 0;
    std::vector<int> first_page;
    for (const auto& p : prompts) {
      first_page.push_back(pages);
      pages += (static_cast<int>(p.size()) + 1 + kPageSize - 1) / kPageSize;
    }
    kv_ = model_->allocate_kv_cache(pages, kPageSize);
    ForwardBatch prefill = batch(static_cast<int>(total(prompts)));
    ForwardBatch decode = batch(static_cast<int>(prompts.size()));
    for (size_t s = 0; s < prompts.size(); ++s) {
      const int n = static_cast<int>(prompts[s].size());
      add(prefill, prompts[s], 0, first_page[s]);
      add(decode, {next[s]}, n, first_page[s]);
    }
    for (int r = 0; r < prefill.plan.num_rows; ++r) prefill.logits_rows.push_back(r);
    for (int r = 0; r < decode.plan.num_rows; ++r) decode.logits_rows.push_back(r);
    prefill.plan.finalize();
    decode.plan.finalize();
    auto a = download(model_->forward(prefill, kv_));
    auto b = download(model_->forward(decode, kv_));
    return {std::move(a), std::move(b)};
  }

  int vocab() const { return model_->config().vocab_size; }

 private:
  static size_t total(const std::vector<std::vector<int32_t>>& prompts) {
    size_t n = 0;
    for (const auto& p : prompts) n += p.size();
    return n;
  }
  static ForwardBatch batch(int rows) {
    ForwardBatch b;
    b.plan.page_size = kPageSize;
    b.plan.num_rows = rows;
    return b;
  }
  // Tokens at positions [start, start + n) of the sequence whose pages begin at `first`.
  static void add(ForwardBatch& b, const std::vector<int32_t>& tokens, int start, int first) {
    std::vector<int32_t> rows, pages;
    for (size_t j = 0; j < tokens.size(); ++j) {
      const int pos = start + static_cast<int>(j);
      rows.push_back(static_cast<int32_t>(b.token_ids.size()));
      b.token_ids.push_back(tokens[j]);
      b.positions.push_back(pos);
      b.slots.push_back(first * kPageSize + pos);
    }
    const int kv_len = start + static_cast<int>(tokens.size());
    for (int p = 0; p < (kv_len + kPageSize - 1) / kPageSize; ++p) pages.push_back(first + p);
    b.plan.add_task(rows, pages, kv_len, 0, 0, true);
  }
  std::vector<float> download(const Tensor& t) {
    std::vector<float> v(static_cast<size_t>(t.numel()));
    model_->backend().download_f32(t, v.data());
    return v;
  }

  std::unique_ptr<DecoderModel> model_;
  std::vector<KvLayer> kv_;
};

// Worst over rows of max |diff| / max |ref| within the row.
double worst_row_error(const std::vector<float>& got, const std::vector<float>& ref, int vocab) {
  double worst = 0;
  for (size_t row = 0; row * vocab < ref.size(); ++row) {
    const auto begin = static_cast<ptrdiff_t>(row * vocab);
    worst = std::max(worst, relative_error({got.begin() + begin, got.begin() + begin + vocab},
                                           {ref.begin() + begin, ref.begin() + begin + vocab}));
  }
  return worst;
}

std::vector<std::vector<int32_t>> random_prompts(const std::vector<int>& lengths, int vocab,
                                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> prompts;
  for (int n : lengths) {
    std::vector<int32_t> p(static_cast<size_t>(n));
    for (auto& id : p) id = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
    prompts.push_back(std::move(p));
  }
  return prompts;
}

using CudaModelTest = CudaBackendTest;

void expect_close(Backend& cpu, Backend& gpu, const std::string& model_dir,
                  const std::vector<std::vector<int32_t>>& prompts, double bound,
                  const std::string& label) {
  TwoStepRunner on_cpu(model_dir, cpu), on_gpu(model_dir, gpu);
  std::vector<int32_t> next;
  for (size_t s = 0; s < prompts.size(); ++s) {
    next.push_back(static_cast<int32_t>((s * 7919 + 13) % static_cast<size_t>(on_cpu.vocab())));
  }
  const auto [cpu_prefill, cpu_decode] = on_cpu.run(prompts, next);
  const auto [gpu_prefill, gpu_decode] = on_gpu.run(prompts, next);
  const double prefill_err = worst_row_error(gpu_prefill, cpu_prefill, on_cpu.vocab());
  const double decode_err = worst_row_error(gpu_decode, cpu_decode, on_cpu.vocab());
  report("model " + label + " prefill logits (worst row)", prefill_err);
  report("model " + label + " decode logits (worst row)", decode_err);
  EXPECT_LE(prefill_err, bound) << label;
  EXPECT_LE(decode_err, bound) << label;
}

TEST_F(CudaModelTest, TinyFixturesMatchCpu) {
  for (const char* name : {"qwen3-tiny", "qwen2-tiny"}) {
    const std::string dir = fixture(std::string("models/") + name);
    const auto golden =
        nlohmann::json::parse(read_text_file(fixture(std::string("golden/") + name + ".json")));
    const auto prompts = golden.at("prompts").get<std::vector<std::vector<int32_t>>>();
    expect_close(*cpu, *gpu, dir, prompts, 3e-2, name);
  }
}

TEST_F(CudaModelTest, RandomWeightsInRealGeometriesMatchCpu) {
  for (const std::string& preset : geometry_preset_names()) {
    const ModelConfig config = geometry_preset(preset);
    const std::string dir = temp_dir(preset);
    write_random_checkpoint(config, dir, "", 1234);
    expect_close(*cpu, *gpu, dir, random_prompts({70, 5, 300}, config.vocab_size, 77), 1e-1,
                 preset);
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace cascade::test

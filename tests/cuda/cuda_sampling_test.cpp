// Device sampling (Backend::sample) against the host sampler (src/engine/sampler.h) on
// the same logits and the same draws: greedy, plain-temperature, top-k and top-p rows must
// give the host's token. The two share the definition and its integer arithmetic except
// expf, which may differ by an ulp on the device; a token could then differ only when a draw
// lands within about 1e-7 of a boundary of the inverse CDF, which these few thousand draws
// do not hit.
// Faulty rows (NaN, +inf, all -inf) come back as -1.
#include <cuda_runtime_api.h>

#include <limits>

#include "cuda_test_util.h"
#include "engine/request_rng.h"
#include "engine/sampler.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::test {
namespace {

using CudaSamplingTest = CudaBackendTest;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// An f32 device tensor holding `host` exactly.
Tensor device_f32(Backend& gpu, const std::vector<float>& host, Shape shape) {
  Tensor t = gpu.allocate(DType::F32, std::move(shape));
  gpu.synchronize();
  EXPECT_EQ(cudaMemcpy(t.data, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  return t;
}

// Logits of width `vocab`: normal(0, scale), a share masked to -inf, a few ties at the max.
std::vector<float> random_logits(int rows, int vocab, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::uniform_int_distribution<int> pick(0, vocab - 1);
  std::vector<float> v(size_t(rows) * vocab);
  for (float& x : v) x = normal(rng);
  for (int r = 0; r < rows; ++r) {
    float* row = v.data() + size_t(r) * vocab;
    if (r % 3 == 1) {
      for (int i = 0; i < vocab / 4; ++i) row[pick(rng)] = kNegInf;
    }
    if (r % 4 == 2) {  // ties at the top: greedy must take the lowest id
      const float top = *std::max_element(row, row + vocab) + 1.0f;
      row[pick(rng)] = top;
      row[pick(rng)] = top;
    }
  }
  return v;
}

// The device samples ids [0, usable) of each row; the host gets the row with the rest
// masked to -inf, as the engine masks the ids past the tokenizer. top_k 0 and top_p 1: off.
void expect_same_tokens(Backend& gpu, int rows, int vocab, int usable, float temperature,
                        float scale, uint32_t seed, int top_k = 0, float top_p = 1.0f) {
  auto logits = random_logits(rows, vocab, seed, scale);
  const Tensor device = device_f32(gpu, logits, {rows, vocab});
  for (int r = 0; r < rows; ++r) {
    std::fill(logits.begin() + r * vocab + usable, logits.begin() + (r + 1) * vocab, kNegInf);
  }
  const auto n = static_cast<size_t>(rows);
  std::vector<float> temps(n, temperature);
  std::vector<double> draws(n);
  std::vector<int32_t> expected(n), got(n, -7);
  SamplingParams params;
  params.temperature = temperature;
  params.top_k = top_k;
  params.top_p = top_p;
  SamplerScratch scratch;
  for (int r = 0; r < rows; ++r) {
    RequestRng device_rng(seed * 1000 + uint64_t(r)), host_rng(seed * 1000 + uint64_t(r));
    draws[size_t(r)] = is_greedy(params) ? 0.0 : device_rng.next_uniform();
    const std::span<const float> row(logits.data() + size_t(r) * vocab, size_t(vocab));
    expected[size_t(r)] = sample_token(row, params, host_rng, scratch);
  }
  if (is_greedy(params)) std::fill(temps.begin(), temps.end(), 0.0f);
  const std::vector<int32_t> ks(n, top_k);
  const std::vector<float> ps(n, top_p);
  ASSERT_TRUE(gpu.sample(device, usable, {temps, draws, ks, ps}, got));
  EXPECT_EQ(got, expected) << rows << " rows x " << vocab << " (" << usable
                           << " usable), temperature " << temperature << ", top_k " << top_k
                           << ", top_p " << top_p;
}

TEST_F(CudaSamplingTest, GreedyIsTheHostArgmaxWithTiesToTheLowestId) {
  for (const auto& [rows, vocab] : std::vector<std::pair<int, int>>{
           {1, 1}, {7, 127}, {33, 128}, {64, 1000}, {130, 3072}, {9, 151936}}) {
    expect_same_tokens(*gpu, rows, vocab, vocab, 0.0f, 2.0f, uint32_t(vocab));
    expect_same_tokens(*gpu, rows, vocab, (vocab + 1) / 2, 0.0f, 2.0f, uint32_t(vocab) + 1);
  }
}

TEST_F(CudaSamplingTest, TemperatureDrawsAreTheHostDraws) {
  for (const float temperature : {0.3f, 0.6f, 1.0f, 2.5f}) {
    for (const auto& [rows, vocab] : std::vector<std::pair<int, int>>{
             {1, 1}, {17, 129}, {256, 1000}, {300, 3072}, {64, 151936}}) {
      // Wide logits make a few tokens dominate; narrow ones spread the mass over many blocks.
      for (const float scale : {0.5f, 4.0f}) {
        const auto seed = uint32_t(vocab + rows) + uint32_t(temperature * 10);
        expect_same_tokens(*gpu, rows, vocab, vocab, temperature, scale, seed);
        expect_same_tokens(*gpu, rows, vocab, vocab - vocab / 3, temperature, scale, seed + 7);
      }
    }
  }
}

// Top-k and top-p cut by radix selects, ties at a cut to the lowest ids (rows with
// duplicated maxima and -inf shares), k past the usable ids, top-p alone and within a top-k.
TEST_F(CudaSamplingTest, TopKAndTopPDrawsAreTheHostDraws) {
  for (const auto& [rows, vocab] :
       std::vector<std::pair<int, int>>{{5, 129}, {33, 1000}, {64, 3072}, {9, 151936}}) {
    for (const int k : {0, 2, 5, 50, 129, 800, 1000, 1024, 5000}) {
      if (k >= vocab) continue;
      for (const float top_p : {1.0f, 0.95f, 0.9f, 0.3f, 1e-3f}) {
        const auto seed = uint32_t(vocab * 7 + k) + uint32_t(top_p * 10);
        expect_same_tokens(*gpu, rows, vocab, vocab, 0.8f, 2.0f, seed, k, top_p);
        expect_same_tokens(*gpu, rows, vocab, vocab - vocab / 3, 1.3f, 0.5f, seed + 1, k, top_p);
      }
    }
  }
}

// The split scan (cuda::SplitSampling: every step's logits scanned by many blocks per row),
// with and without the split draw (rows of plain temperature sampling drawn from the one
// slice holding their draw), gives the host's tokens too: greedy, temperature (a few to 300
// rows, Qwen's vocabulary, masked ids) and rows with cuts, which take the one-block draw
// after the split scan.
TEST_F(CudaSamplingTest, SplitScanAndSplitDrawGiveTheHostDraws) {
  const cuda::SplitSampling before = cuda::split_sampling();
  for (const bool draw : {false, true}) {
    cuda::set_split_sampling({4096, draw});
    for (const auto& [rows, vocab] : std::vector<std::pair<int, int>>{
             {1, 1}, {7, 127}, {17, 4097}, {256, 3072}, {300, 1000}, {40, 151936}}) {
      expect_same_tokens(*gpu, rows, vocab, vocab, 0.0f, 2.0f, uint32_t(vocab) + 3);
      for (const float temperature : {0.3f, 0.6f, 2.5f}) {
        for (const float scale : {0.5f, 4.0f}) {
          const auto seed = uint32_t(vocab + rows) + uint32_t(temperature * 10) + 11;
          expect_same_tokens(*gpu, rows, vocab, vocab, temperature, scale, seed);
          expect_same_tokens(*gpu, rows, vocab, vocab - vocab / 3, temperature, scale, seed + 7);
        }
      }
      expect_same_tokens(*gpu, rows, vocab, vocab, 0.8f, 2.0f, uint32_t(vocab) + 5, 50, 0.9f);
      expect_same_tokens(*gpu, rows, vocab, vocab, 1.3f, 0.5f, uint32_t(vocab) + 6, 0, 0.3f);
    }
  }
  cuda::set_split_sampling(before);
}

// Many equal logits (and plain-temperature draws): a cut falls inside a run of thousands of
// equal tokens, and every token of a row may be equal.
TEST_F(CudaSamplingTest, CutsInsideRunsOfEqualLogitsAreTheHostCuts) {
  const int rows = 4, vocab = 5000;
  std::vector<float> flat(size_t(rows) * vocab, 0.25f);
  flat[17] = 1.0f;
  flat[vocab + 4999] = 2.0f;
  for (int i = 0; i < vocab; i += 3) flat[2 * vocab + i] = 0.0f;
  for (const int i : {3, 4, 100, 4001}) flat[2 * vocab + i] = -0.0f;  // ranked with +0.0 by id
  for (int i = 0; i < vocab; ++i) flat[3 * vocab + i] = -1.5f;
  const Tensor device = device_f32(*gpu, flat, {rows, vocab});
  for (const auto& [k, top_p] : std::vector<std::pair<int, float>>{
           {0, 1.0f}, {700, 0.95f}, {0, 0.5f}, {0, 0.05f}, {2500, 1.0f}, {4000, 0.3f}}) {
    SamplingParams params;
    params.temperature = 0.7f;
    params.top_k = k;
    params.top_p = top_p;
    SamplerScratch scratch;
    std::vector<double> draws;
    std::vector<int32_t> expected;
    for (int r = 0; r < rows; ++r) {
      for (int d = 0; d < 8; ++d) {  // draws over the whole kept range
        RequestRng a(900 + uint64_t(r * 8 + d)), b(900 + uint64_t(r * 8 + d));
        draws.push_back(a.next_uniform());
        expected.push_back(
            sample_token({flat.data() + size_t(r) * vocab, size_t(vocab)}, params, b, scratch));
      }
    }
    // Each row 8 times: the device tensor's rows repeated by drawing per (row, draw).
    for (int d = 0; d < 8; ++d) {
      std::vector<double> row_draws;
      std::vector<int32_t> row_expected, got(size_t(rows), -7);
      for (int r = 0; r < rows; ++r) {
        row_draws.push_back(draws[size_t(r * 8 + d)]);
        row_expected.push_back(expected[size_t(r * 8 + d)]);
      }
      ASSERT_TRUE(gpu->sample(
          device, vocab,
          {std::vector<float>(size_t(rows), 0.7f), row_draws, std::vector<int32_t>(size_t(rows), k),
           std::vector<float>(size_t(rows), top_p)},
          got));
      EXPECT_EQ(got, row_expected) << "top_k " << k << " top_p " << top_p << " draw " << d;
    }
  }
}

TEST_F(CudaSamplingTest, FaultyRowsComeBackAsMinusOneAndOthersAreUntouched) {
  const int vocab = 500;
  std::vector<float> logits = random_logits(4, vocab, 5, 1.0f);
  logits[size_t(0) * vocab + 17] = std::numeric_limits<float>::quiet_NaN();
  logits[size_t(1) * vocab + 499] = std::numeric_limits<float>::infinity();
  std::fill(logits.begin() + 2 * vocab, logits.begin() + 3 * vocab, kNegInf);
  const Tensor device = device_f32(*gpu, logits, {4, vocab});
  for (const float t : {0.0f, 0.8f}) {
    std::vector<int32_t> got(4, -7);
    ASSERT_TRUE(
        gpu->sample(device, vocab, {std::vector<float>(4, t), std::vector<double>(4, 0.5)}, got));
    EXPECT_EQ(got[0], -1);
    EXPECT_EQ(got[1], -1);
    EXPECT_EQ(got[2], -1);
    EXPECT_GE(got[3], 0);
    EXPECT_LT(got[3], vocab);
  }
}

// Asynchronous scheduling: two steps sampled ahead give, in order, what sample() gives
// for their logits; the next step's ids name the last draw's rows (-row - 1), a faulty
// row's as 0; ids >= 0 stay.
TEST_F(CudaSamplingTest, SampledAheadIdsEqualSampleAndSubstituteIntoTheNextStep) {
  ASSERT_TRUE(gpu->can_sample_ahead());
  const int vocab = 700;
  std::vector<float> first = random_logits(5, vocab, 21, 2.0f),
                     second = random_logits(3, vocab, 22, 2.0f);
  second[size_t(1) * vocab + 3] = std::numeric_limits<float>::quiet_NaN();  // row 1 faulty
  const Tensor first_device = device_f32(*gpu, first, {5, vocab});
  const Tensor second_device = device_f32(*gpu, second, {3, vocab});
  const std::vector<double> draws1{0.1, 0.5, 0.9, 0.3, 0.7}, draws2{0.2, 0.4, 0.6};
  const std::vector<float> temps1(5, 0.8f), temps2(3, 0.0f);
  std::vector<int32_t> want1(5), want2(3);
  ASSERT_TRUE(gpu->sample(first_device, vocab, {temps1, draws1}, want1));
  ASSERT_TRUE(gpu->sample(second_device, vocab, {temps2, draws2}, want2));
  ASSERT_EQ(want2[1], -1);

  gpu->sample_ahead(first_device, vocab, {temps1, draws1});
  gpu->sample_ahead(second_device, vocab, {temps2, draws2});
  EXPECT_THROW(gpu->sample_ahead(first_device, vocab, {temps1, draws1}), Error)
      << "a third step ahead has no slot";
  // The next step's ids: rows of the second draw, a plain id, padding.
  const std::vector<int32_t> host_ids{-3, 42, -1, -2, -3, 0};
  Tensor ids = gpu->upload_i32(host_ids.data(), {6});
  gpu->substitute_sampled_ids(host_ids, ids);
  std::vector<int32_t> got1(5, -7), got2(3, -7);
  gpu->finish_sample(got1);
  gpu->finish_sample(got2);
  EXPECT_EQ(got1, want1);
  EXPECT_EQ(got2, want2);
  std::vector<int32_t> substituted(6, -7);
  gpu->synchronize();
  ASSERT_EQ(cudaMemcpy(substituted.data(), ids.data, 6 * sizeof(int32_t), cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(substituted, (std::vector<int32_t>{want2[2], 42, want2[0], 0, want2[2], 0}));
  EXPECT_THROW(gpu->finish_sample(got1), Error) << "nothing is outstanding";
  const std::vector<int32_t> out_of_range{-4};
  EXPECT_THROW(gpu->substitute_sampled_ids(out_of_range, ids), Error) << "the last draw had 3 rows";
}

TEST_F(CudaSamplingTest, TheCpuBackendLeavesSamplingToTheHost) {
  const Tensor logits = cpu->allocate(DType::F32, {2, 8});
  std::vector<int32_t> out(2, -7);
  EXPECT_FALSE(
      cpu->sample(logits, 8, {std::vector<float>(2, 0.0f), std::vector<double>(2, 0.0)}, out));
  EXPECT_EQ(out, std::vector<int32_t>(2, -7));
}

TEST_F(CudaSamplingTest, AddRmsNormEqualsTheTwoOpsAndTheCpu) {
  for (const auto& [rows, dim] :
       std::vector<std::pair<int, int>>{{1, 64}, {5, 37}, {17, 896}, {64, 1024}, {3, 5000}}) {
    const auto r = random_bf16_values(size_t(rows) * dim, 31 + dim, 0.2f, 2.0f);
    const auto x = both(random_bf16_values(size_t(rows) * dim, 32 + dim), {rows, dim});
    const auto w = both(random_bf16_values(size_t(dim), 33 + dim, 1.0f, 0.2f), {dim});
    auto fused_residual = both(r, {rows, dim});
    auto split_residual = both(r, {rows, dim});
    auto fused = outputs({rows, dim});
    auto split = outputs({rows, dim});
    gpu->add_rms_norm(fused_residual.gpu, x.gpu, w.gpu, 1e-6f, fused.gpu);
    gpu->add_inplace(split_residual.gpu, x.gpu);
    gpu->rms_norm(split_residual.gpu, w.gpu, 1e-6f, split.gpu);
    cpu->add_rms_norm(fused_residual.cpu, x.cpu, w.cpu, 1e-6f, fused.cpu);
    EXPECT_EQ(host(*gpu, fused_residual.gpu), host(*gpu, split_residual.gpu)) << rows << "x" << dim;
    EXPECT_EQ(host(*gpu, fused.gpu), host(*gpu, split.gpu)) << rows << "x" << dim;
    const double err = max_elementwise_error(host(*gpu, fused.gpu), host(*cpu, fused.cpu));
    report("add_rms_norm [" + std::to_string(rows) + ", " + std::to_string(dim) + "] elementwise",
           err);
    EXPECT_LE(err, 2 * kBf16Ulp) << rows << " x " << dim;  // the sum's rounding, then the norm's
  }
}

}  // namespace
}  // namespace cascade::test

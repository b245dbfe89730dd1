// Timings of the CUDA backend's kernels beside their speed of light: bytes over the H200's
// measured copy bandwidth (4270 GB/s) or FLOPs over its bf16 matrix rate (790 TFLOP/s).
// Run by scripts/gpu-check.sh (CASCADE_CUDA_TIMING=1); skipped otherwise. Each time is the
// median of 5 batches' mean after warm-up; inputs are random, never zeros.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>

#include "cuda_test_util.h"
#include "model/contiguous_runner.h"
#include "model/decoder_model.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/random_checkpoint.h"
#include "model/safetensors.h"
#include "ops/cuda/cuda_attention_variant.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_kernels.h"
#include "ops/cuda/cuda_launch.h"
#include "test_paths.h"

namespace cascade::test {
namespace {

constexpr double kCopyGBs = 4270.0, kMatmulTflops = 790.0;

class CudaTiming : public CudaBackendTest {
 protected:
  void SetUp() override {
    if (!std::getenv("CASCADE_CUDA_TIMING")) GTEST_SKIP() << "set CASCADE_CUDA_TIMING=1";
    CudaBackendTest::SetUp();
  }

  template <typename F>
  double time_ms(F&& fn, int iterations = 20) {
    for (int i = 0; i < 3; ++i) fn();
    gpu->synchronize();
    std::vector<double> batches;
    for (int b = 0; b < 5; ++b) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) fn();
      gpu->synchronize();
      const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
      batches.push_back(dt.count() / iterations);
    }
    std::sort(batches.begin(), batches.end());
    return batches[2];
  }

  // time_ms for calls of a few microseconds, whose host side may take longer than their
  // kernels (cuBLASLt's `linear`): `iterations` calls recorded once as a CUDA graph, then
  // the graph replayed; the median of 5 replays, per call.
  template <typename F>
  double time_graph_ms(F&& fn, int iterations = 20) {
    const std::unique_ptr<StepGraph> graph = gpu->capture([&] {
      for (int i = 0; i < iterations; ++i) fn();
    });
    return time_ms([&] { graph->replay(); }, 1) / iterations;
  }

  static void print(const std::string& what, double ms, double bytes, double flops) {
    std::cout << "[timing] " << std::left << std::setw(58) << what << std::right << std::fixed
              << std::setprecision(4) << std::setw(9) << ms << " ms";
    if (bytes > 0) {
      const double gbs = bytes / ms / 1e6;
      std::cout << std::setw(8) << std::setprecision(0) << gbs << " GB/s (" << std::setprecision(0)
                << 100 * gbs / kCopyGBs << "% of copy)";
    }
    if (flops > 0) {
      const double tflops = flops / ms / 1e9;
      std::cout << std::setw(8) << std::setprecision(1) << tflops << " TFLOP/s ("
                << std::setprecision(1) << 100 * tflops / kMatmulTflops << "% of matmul)";
    }
    std::cout << std::endl;
  }

  // A KV cache of `pages` pages filled with random bf16 (rows gathered from a random table).
  KvLayer random_cache(int pages, int page_size, int hkv, int d) {
    const int width = hkv * d, table_rows = 4096;
    const auto table_host = random_bf16_values(size_t(table_rows) * width, 5);
    const Tensor table = gpu->upload(table_host.data(), DType::F32, {table_rows, width});
    KvLayer cache{gpu->allocate(DType::BF16, {pages, page_size, hkv, d}),
                  gpu->allocate(DType::BF16, {pages, page_size, hkv, d})};
    std::vector<int32_t> ids(size_t(pages) * page_size);
    std::mt19937 rng(6);
    for (auto& id : ids) id = static_cast<int32_t>(rng() % table_rows);
    const Tensor id_t = gpu->upload_i32(ids.data(), {static_cast<int64_t>(ids.size())});
    for (Tensor* t : {&cache.k, &cache.v}) {
      Tensor flat = t->reshaped({static_cast<int64_t>(ids.size()), width});
      gpu->embedding(id_t, table, flat);
    }
    return cache;
  }
};

// Qwen3-0.6B attention layout: 16 query heads, 8 kv heads, head_dim 128, pages of 16.
constexpr int kHq = 16, kHkv = 8, kD = 128, kPage = 16;

TEST_F(CudaTiming, AttentionDecodePrefillAndSharedLevel) {
  const RopeParams rope{1000000.0, kD};
  const auto run = [&](const std::string& what, const KvLayer& cache, AttentionPlan& plan,
                       const std::vector<int32_t>& positions, double bytes, double flops) {
    plan.finalize();
    const int rows = plan.num_rows;
    const auto q_host = random_bf16_values(size_t(rows) * kHq * kD, 7);
    const Tensor q = gpu->upload(q_host.data(), DType::F32, {rows, kHq, kD});
    const Tensor pos = gpu->upload_i32(positions.data(), {rows});
    Tensor out = gpu->allocate(DType::BF16, {rows, kHq, kD});
    print(what, time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), bytes, flops);
  };
  const double token_bytes = 2.0 * kHkv * kD * 2;  // K and V of one token, bf16
  // decode: one row per sequence over its own pages (whole pages: lengths rounded up)
  const auto decode = [&](const std::string& what, const std::vector<int>& lengths) {
    int total_pages = 0;
    for (int n : lengths) total_pages += (n + kPage - 1) / kPage;
    const KvLayer cache = random_cache(total_pages, kPage, kHkv, kD);
    AttentionPlan plan;
    plan.page_size = kPage;
    plan.num_rows = static_cast<int>(lengths.size());
    std::vector<int32_t> positions;
    int next_page = 0;
    double bytes = 0;
    for (int s = 0; s < plan.num_rows; ++s) {
      std::vector<int32_t> pages((lengths[s] + kPage - 1) / kPage);
      std::iota(pages.begin(), pages.end(), next_page);
      next_page += static_cast<int>(pages.size());
      plan.add_task({s}, pages, lengths[s], 0, 0, true);
      positions.push_back(lengths[s] - 1);
      bytes += token_bytes * lengths[s];
    }
    run(what, cache, plan, positions, bytes, 0);
  };
  // B1's decode steps: 256 rows of 100 to 2,047 tokens (its prompts plus outputs so far)
  std::vector<int> b1_lengths;
  std::mt19937 rng(9);
  for (int s = 0; s < 256; ++s) b1_lengths.push_back(100 + static_cast<int>(rng() % 1948));
  decode("attention decode 64 x 2048 (KV bytes)", std::vector<int>(64, 2048));
  decode("attention decode 256 x 100..2047, B1-like (KV bytes)", b1_lengths);
  {  // the same with the CUDA-core kernel's keys read by a lane each (the default reads
     // each with 8 lanes)
    ::setenv("CASCADE_ATTENTION_KEY_LANES", "1", 1);
    gpu = make_backend("cuda");
    ::unsetenv("CASCADE_ATTENTION_KEY_LANES");
    decode("attention decode 64 x 2048, 1 lane per key (KV bytes)", std::vector<int>(64, 2048));
    decode("attention decode 256 x 100..2047, 1 lane per key (KV bytes)", b1_lengths);
    gpu = make_backend("cuda");
  }
  {  // prefill: one causal sequence of 4096 tokens
    const int n = 4096;
    const KvLayer cache = random_cache(n / kPage, kPage, kHkv, kD);
    AttentionPlan plan;
    plan.page_size = kPage;
    plan.num_rows = n;
    std::vector<int32_t> pages(n / kPage), rows(n), positions(n);
    std::iota(pages.begin(), pages.end(), 0);
    std::iota(rows.begin(), rows.end(), 0);
    std::iota(positions.begin(), positions.end(), 0);
    plan.add_task(rows, pages, n, 0, 0, true);
    run("attention prefill 4096 causal (FLOPs)", cache, plan, positions, 0,
        4.0 * kHq * kD * n * (n + 1) / 2.0);
  }
  {  // 64 decode rows over one shared 4096-token level: one task (cascade) vs 64 (flat)
    const int rows = 64, shared = 4096;
    const KvLayer cache = random_cache(shared / kPage, kPage, kHkv, kD);
    std::vector<int32_t> pages(shared / kPage), all(rows), positions(rows, shared + 10);
    std::iota(pages.begin(), pages.end(), 0);
    std::iota(all.begin(), all.end(), 0);
    AttentionPlan cascade_plan, flat_plan;
    for (AttentionPlan* p : {&cascade_plan, &flat_plan}) {
      p->page_size = kPage;
      p->num_rows = rows;
    }
    cascade_plan.add_task(all, pages, shared, 0, 0, false);
    for (int r = 0; r < rows; ++r) flat_plan.add_task({r}, pages, shared, 0, 0, false);
    const double flops = 4.0 * rows * kHq * kD * shared;
    run("attention 64 rows x shared 4096, one task (FLOPs)", cache, cascade_plan, positions, 0,
        flops);
    run("attention 64 rows x shared 4096, 64 tasks (FLOPs)", cache, flat_plan, positions, 0, flops);
  }
}

// B2's shared levels in one layer (its own test, for profilers): 128 decode rows over 8
// chunks of 2,048 tokens, each chunk a task at its own rope_delta (chunks are stored at
// canonical positions).
TEST_F(CudaTiming, AttentionB2SharedChunks) {
  const RopeParams rope{1000000.0, kD};
  const int rows = 128, chunks = 8, chunk = 2048, pages_per = chunk / kPage;
  const KvLayer cache = random_cache(chunks * pages_per, kPage, kHkv, kD);
  std::vector<int32_t> all(rows), positions(rows, chunks * chunk + 70);
  std::iota(all.begin(), all.end(), 0);
  AttentionPlan plan;
  plan.page_size = kPage;
  plan.num_rows = rows;
  for (int c = 0; c < chunks; ++c) {
    std::vector<int32_t> pages(pages_per);
    std::iota(pages.begin(), pages.end(), c * pages_per);
    plan.add_task(all, pages, chunk, c * chunk, c * chunk, false);
  }
  plan.finalize();
  const auto q_host = random_bf16_values(size_t(rows) * kHq * kD, 7);
  const Tensor q = gpu->upload(q_host.data(), DType::F32, {rows, kHq, kD});
  const Tensor pos = gpu->upload_i32(positions.data(), {rows});
  Tensor out = gpu->allocate(DType::BF16, {rows, kHq, kD});
  const double flops = 4.0 * rows * kHq * kD * chunks * chunk;
  const bool wgmma_before = cuda::attention_wgmma_enabled();
  cuda::set_attention_wgmma(false);
  print("attention 128 rows x 8 shared chunks of 2048, mma.sync (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  if (!cuda::attention_wgmma_available()) return;
  cuda::set_attention_wgmma(true);
  const int ws_min_rows_before = cuda::attention_wgmma_ws_min_rows();
  cuda::set_attention_wgmma_ws_min_rows(-1);
  print("  the same on the wgmma kernel, K and V by the copy engine (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_tma(false);
  print("  the same on the wgmma kernel, K and V by cp.async (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_tma(true);
  cuda::set_attention_wgmma_pipelined(true);
  print("  the same on the pipelined wgmma kernel, K and V by the copy engine (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_tma(false);
  print("  the same on the pipelined wgmma kernel, K and V by cp.async (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_tma(true);
  cuda::set_attention_wgmma_pipelined(false);
  cuda::set_attention_wgmma_ws_min_rows(0);
  print("  the same on the warp-specialized wgmma kernel, K and V by TMA (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_ws_pingpong(true);
  print("  the same on the warp-specialized wgmma kernel, ping-pong (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_ws_pingpong(false);
  cuda::set_attention_wgmma_tma(false);
  print("  the same on the warp-specialized wgmma kernel, K and V by cp.async (FLOPs)",
        time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, flops);
  cuda::set_attention_wgmma_tma(true);
  cuda::set_attention_wgmma_ws_min_rows(ws_min_rows_before);
  cuda::set_attention_wgmma(wgmma_before);
}

// B6's decode attention: Qwen2.5-0.5B (14 query heads, 2 kv heads, head_dim 64), one row
// over 45 tokens, as one 8-row tile per kv head (the default) and as 4-row tiles
// (CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS). Latency, not bytes: each call is one launch.
TEST_F(CudaTiming, AttentionB6DecodeRow) {
  constexpr int hq = 14, hkv = 2, d = 64, tokens = 45;
  const RopeParams rope{1000000.0, d};
  AttentionPlan plan;
  plan.page_size = kPage;
  plan.num_rows = 1;
  plan.add_task({0}, {0, 1, 2}, tokens, 0, 0, true);
  plan.finalize();
  const auto q_host = random_bf16_values(size_t{hq} * d, 7);
  const std::vector<int32_t> position{tokens - 1};
  const auto time_on_current_backend = [&](const std::string& what) {
    const KvLayer cache = random_cache((tokens + kPage - 1) / kPage, kPage, hkv, d);
    const Tensor q = gpu->upload(q_host.data(), DType::F32, {1, hq, d});
    const Tensor pos = gpu->upload_i32(position.data(), {1});
    Tensor out = gpu->allocate(DType::BF16, {1, hq, d});
    print(what, time_ms([&] { gpu->attention(q, pos, cache, plan, rope, out); }), 0, 0);
  };
  time_on_current_backend("attention B6 decode row, 45 tokens, 8-row tiles");
  ::setenv("CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS", "132", 1);
  gpu = make_backend("cuda");
  ::unsetenv("CASCADE_ATTENTION_SPLIT_GROUP_BLOCKS");
  time_on_current_backend("  the same on 4-row tiles");
}

// Device sampling over Qwen's 151,936 logits per row: one greedy row (B6's step) and 256
// rows at temperature 0.6 (B1's largest decode step); each call includes its parameter
// upload and its tokens' download, as an engine step does. Bytes: the logits read once.
TEST_F(CudaTiming, SampleQwenRows) {
  const int vocab = 151936;
  for (const int rows : {1, 16, 256}) {
    const std::vector<float> host = random_bf16_values(size_t(rows) * vocab, 11);
    Tensor logits = gpu->allocate(DType::F32, {rows, vocab});
    gpu->synchronize();
    ASSERT_EQ(
        cudaMemcpy(logits.data, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
        cudaSuccess);
    const float temperature = rows == 1 ? 0.0f : 0.6f;
    const std::vector<float> temps(rows, temperature), top_p(rows, 1.0f);
    const std::vector<double> draws(rows, 0.5);
    const std::vector<int32_t> top_k(rows, 0);
    std::vector<int32_t> out(rows);
    bool sampled = true;
    const double ms = time_ms([&] {
      sampled = gpu->sample(logits, vocab, {temps, draws, top_k, top_p}, out) && sampled;
    });
    ASSERT_TRUE(sampled);
    print("sample " + std::to_string(rows) + (rows == 1 ? " greedy row" : " rows at t 0.6") +
              " of 151936 logits (bytes)",
          ms, 4.0 * rows * vocab, 0);
  }
}

// Qwen3-0.6B's fused QKV at decode, mixed and prefill sizes and its LM head; then
// Qwen2.5-0.5B's four projections at batch 1 (B6; the weights stay in L2 between calls).
TEST_F(CudaTiming, LinearQwen3Shapes) {
  const cuda::SkinnyGemmMode skinny_before = cuda::skinny_gemm_mode();
  for (const auto& [rows, in, out] : std::vector<std::tuple<int, int, int>>{{1, 1024, 6144},
                                                                            {64, 1024, 6144},
                                                                            {4096, 1024, 6144},
                                                                            {64, 1024, 151936},
                                                                            {128, 1024, 4096},
                                                                            {128, 2048, 1024},
                                                                            {128, 1024, 6144},
                                                                            {128, 3072, 1024},
                                                                            {1, 896, 1152},
                                                                            {1, 896, 896},
                                                                            {1, 896, 9728},
                                                                            {1, 4864, 896}}) {
    const auto x_host = random_bf16_values(size_t(rows) * in, 8);
    const auto w_host = random_bf16_values(size_t(out) * in, 9, 0.0f, 0.03f);
    const Tensor x = gpu->upload(x_host.data(), DType::F32, {rows, in});
    const Tensor w = gpu->upload(w_host.data(), DType::F32, {out, in});
    Tensor y = gpu->allocate(DType::BF16, {rows, out});
    const double bytes = 2.0 * (double(rows) * in + double(out) * in + double(rows) * out);
    const std::string shape = "[" + std::to_string(rows) + ", " + std::to_string(in) + "] -> " +
                              std::to_string(out) + " (bytes | FLOPs)";
    cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kCopies);
    const bool skinny = cuda::skinny_gemm_fits(rows, out, in, x.data, w.data, y.data);
    print((skinny ? "linear, skinny GEMM " : "linear ") + shape,
          time_ms([&] { gpu->linear(x, w, Tensor{}, y); }), bytes, 2.0 * rows * in * out);
    if (!skinny) continue;
    cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kCopyEngine);
    print("linear, skinny GEMM by the copy engine " + shape,
          time_ms([&] { gpu->linear(x, w, Tensor{}, y); }), bytes, 2.0 * rows * in * out);
    cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kOff);
    print("linear, cuBLASLt " + shape, time_ms([&] { gpu->linear(x, w, Tensor{}, y); }), bytes,
          2.0 * rows * in * out);
  }
  cuda::set_skinny_gemm(skinny_before);
}

// B2's (128 rows) and B4's cached step's (64 rows) four projections of Qwen3-0.6B with the
// weight cold in L2, as in a model's forward pass (each call reads another of enough copies
// to pass through L2): cuBLASLt, then the skinny GEMM in every tiling. Timed as CUDA graphs
// (time_graph_ms): timed call by call, cuBLASLt took ~10 µs a call where ncu puts its
// kernels at ~7 µs in B2's step (2026-12-02), most likely its host side being timed.
TEST_F(CudaTiming, SkinnyGemmTilingsColdWeights) {
  const cuda::SkinnyGemmMode skinny = cuda::skinny_gemm_mode();
  cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kCopies);
  if (!cuda::skinny_gemm_fits(9, 64, 64, nullptr, nullptr, nullptr)) {
    cuda::set_skinny_gemm(skinny);
    GTEST_SKIP();
  }
  auto& cuda_backend = dynamic_cast<CudaBackend&>(*gpu);
  int device = 0, sms = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), cudaSuccess);
  for (const int rows : {128, 64}) {
    for (const auto& [in, out] :
         std::vector<std::pair<int, int>>{{1024, 4096}, {2048, 1024}, {1024, 6144}, {3072, 1024}}) {
      const int64_t weight_bytes = int64_t{2} * in * out;
      const int copies = static_cast<int>((int64_t{160} << 20) / weight_bytes + 1);
      const Tensor x =
          gpu->upload(random_bf16_values(size_t(rows) * in, 8).data(), DType::F32, {rows, in});
      const Tensor one = gpu->upload(random_bf16_values(size_t(out) * in, 9, 0.0f, 0.03f).data(),
                                     DType::F32, {out, in});
      Tensor w = gpu->allocate(DType::BF16, {int64_t{copies} * out, in});
      for (int c = 0; c < copies; ++c) {
        ASSERT_EQ(cudaMemcpy(static_cast<char*>(w.data) + c * weight_bytes, one.data,
                             static_cast<size_t>(weight_bytes), cudaMemcpyDeviceToDevice),
                  cudaSuccess);
      }
      Tensor y = gpu->allocate(DType::BF16, {rows, out});
      int next = 0;
      const auto copy_of = [&](int c) {
        return static_cast<const cuda::bf16*>(w.data) + int64_t{c} * out * in;
      };
      const double bytes = 2.0 * (double(rows) * in + double(out) * in + double(rows) * out);
      const std::string shape = "[" + std::to_string(rows) + ", " + std::to_string(in) + "] -> " +
                                std::to_string(out) + ", cold";
      cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kOff);
      print("cuBLASLt " + shape, time_graph_ms([&] {
              gpu->linear(x, w.rows(int64_t{next % copies} * out, int64_t{next % copies + 1} * out),
                          Tensor{}, y);
              ++next;
            }),
            bytes, 2.0 * rows * in * out);
      for (const auto mode : {cuda::SkinnyGemmMode::kCopies, cuda::SkinnyGemmMode::kCopyEngine}) {
        cuda::set_skinny_gemm(mode);
        const cuda::SkinnyGemmShape chosen = cuda::skinny_gemm_shape(rows, out, in, sms);
        const std::string kernel =
            mode == cuda::SkinnyGemmMode::kCopies ? "skinny " : "skinny, copy engine, ";
        for (const int columns : {128, 64}) {
          for (int cluster = 1; cluster <= 8 && cluster <= in / 64; cluster *= 2) {
            cuda::SkinnyGemmShape s = chosen;
            s.tile_columns = columns;
            s.cluster = cluster;
            const bool is_chosen = columns == chosen.tile_columns && cluster == chosen.cluster;
            print(kernel + std::to_string(columns) + " cols, cluster " + std::to_string(cluster) +
                      (is_chosen ? " (chosen) " : " ") + shape,
                  time_graph_ms([&] {
                    cuda::skinny_gemm_shaped(
                        static_cast<const cuda::bf16*>(x.data), copy_of(next++ % copies), nullptr,
                        static_cast<cuda::bf16*>(y.data), rows, out, in, s, cuda_backend.stream());
                  }),
                  bytes, 2.0 * rows * in * out);
          }
        }
      }
    }
  }
  cuda::set_skinny_gemm(skinny);
}

// A decode layer's MLP GEMVs (RMSNorm + gate/up + SiLU·up, then down + residual) at 1 and
// 8 rows, Qwen2.5-0.5B's and Qwen3-0.6B's shapes, each layer reading weights of its own (24
// copies: far past L2), as a CUDA graph (with PDL where it is on, as in B6). On the H200
// (2026-12-03) 13 µs a layer at one row for Qwen2.5-0.5B's 26 MB, 2.0 TB/s; the weights by
// the copy engine into shared memory took 17 µs (commit 4514709, removed since).
TEST_F(CudaTiming, DecodeMlpGemvsColdWeights) {
  constexpr int kLayers = 24;
  for (const auto& [dim, inter] : std::vector<std::pair<int, int>>{{896, 4864}, {1024, 3072}}) {
    const Tensor norm_weight =
        gpu->upload(random_bf16_values(size_t(dim), 3, 1.0f, 0.2f).data(), DType::F32, {dim});
    std::vector<Tensor> gate_up, down;
    for (int l = 0; l < kLayers; ++l) {
      gate_up.push_back(
          gpu->upload(random_bf16_values(size_t(2 * inter) * dim, 10 + l, 0.0f, 0.03f).data(),
                      DType::F32, {2 * inter, dim}));
      down.push_back(
          gpu->upload(random_bf16_values(size_t(dim) * inter, 40 + l, 0.0f, 0.02f).data(),
                      DType::F32, {dim, inter}));
    }
    const double bytes = 2.0 * 3.0 * double(dim) * inter;
    for (const int rows : {1, 8}) {
      Tensor residual =
          gpu->upload(random_bf16_values(size_t(rows) * dim, 7).data(), DType::F32, {rows, dim});
      Tensor normed = gpu->allocate(DType::BF16, {rows, dim});
      Tensor gate_up_out = gpu->allocate(DType::BF16, {rows, 2 * inter});
      Tensor act = gpu->allocate(DType::BF16, {rows, inter});
      Tensor product = gpu->allocate(DType::BF16, {rows, dim});
      int layer = 0;
      const double ms = time_graph_ms(
          [&] {
            gpu->add_rms_norm_linear_silu_mul(residual, Tensor{}, norm_weight, 1e-6f,
                                              gate_up[layer], normed, gate_up_out, act);
            gpu->linear_into_residual(act, down[layer], residual, product);
            layer = (layer + 1) % kLayers;
          },
          kLayers);
      print("MLP GEMVs, " + std::to_string(rows) + " rows, " + std::to_string(dim) + " -> " +
                std::to_string(inter) + ", cold, per layer",
            ms, bytes, 0);
    }
  }
}

// What a boundary between two dependent kernels costs in a CUDA graph: a chain of RMSNorms
// (each waits for the one before, loads its row, reduces, stores), with and without PDL,
// at B6's one row of 896 and at B1's 256 rows of 1,024. B6's step is ~120 such boundaries;
// this bounds what fewer kernels per layer could save. Then the probe chain
// (cuda::chain_probe) with PDL, its hand-off made three ways: as rms_norm's (the next
// kernel launches as this one's blocks exit), released at the start, and released at the
// start with a count of finished blocks in memory instead of griddepcontrol.wait. The
// three run the same links from the same input, so their outputs must be equal.
TEST_F(CudaTiming, DependentKernelChain) {
  constexpr int kChain = 120;
  const bool pdl_was_on = cuda::programmatic_launch_on();
  auto* cuda_backend = dynamic_cast<CudaBackend*>(gpu.get());
  ASSERT_NE(cuda_backend, nullptr);
  for (const auto& [rows, dim] : std::vector<std::pair<int, int>>{{1, 896}, {256, 1024}}) {
    const Tensor weight =
        gpu->upload(random_bf16_values(size_t(dim), 3, 1.0f, 0.2f).data(), DType::F32, {dim});
    const std::vector<float> input = random_bf16_values(size_t(rows) * dim, 4);
    Tensor a = gpu->upload(input.data(), DType::F32, {rows, dim});
    Tensor b = gpu->allocate(DType::BF16, {rows, dim});
    for (const bool pdl : {false, true}) {
      if (pdl && !pdl_was_on) continue;  // a GPU without PDL
      cuda::set_programmatic_launch(pdl);
      int i = 0;
      const double ms = time_graph_ms(
          [&] {
            if (i++ % 2 == 0) {
              gpu->rms_norm(a, weight, 1e-6f, b);
            } else {
              gpu->rms_norm(b, weight, 1e-6f, a);
            }
          },
          kChain);
      print("rms_norm chain, " + std::to_string(rows) + " x " + std::to_string(dim) +
                (pdl ? ", PDL" : ", no PDL") + ", per kernel",
            ms, 2.0 * 2.0 * rows * dim, 0);
    }
    if (!pdl_was_on) continue;
    cuda::set_programmatic_launch(true);
    std::vector<float> first_output;
    for (const auto& [hand_off, name] : std::vector<std::pair<cuda::ChainHandOff, std::string>>{
             {cuda::ChainHandOff::kAtExit, "released at exit"},
             {cuda::ChainHandOff::kEarlyRelease, "released at start"},
             {cuda::ChainHandOff::kFlags, "released at start, flags"}}) {
      Tensor x = gpu->upload(input.data(), DType::F32, {rows, dim});
      Tensor y = gpu->allocate(DType::BF16, {rows, dim});
      const std::vector<int32_t> zeros(kChain + 1, 0);
      Tensor state = gpu->upload_i32(zeros.data(), {kChain + 1});
      const double ms =
          time_graph_ms(
              [&] {
                cuda::chain_probe(hand_off, static_cast<cuda::bf16*>(x.data),
                                  static_cast<cuda::bf16*>(y.data), rows, dim, kChain,
                                  static_cast<uint32_t*>(state.data), cuda_backend->stream());
              },
              1) /
          kChain;
      print("probe chain, " + std::to_string(rows) + " x " + std::to_string(dim) + ", PDL, " +
                name + ", per kernel",
            ms, 2.0 * 2.0 * rows * dim, 0);
      const std::vector<float> output = host(*gpu, x);
      if (first_output.empty()) {
        first_output = output;
      } else {
        EXPECT_EQ(output, first_output) << name << ", " << rows << " x " << dim;
      }
    }
  }
  cuda::set_programmatic_launch(pdl_was_on);
}

// One decode step of 64 sequences at 512 tokens of context and one prefill of 4 x 512
// tokens, Qwen3-0.6B geometry with random weights.
TEST_F(CudaTiming, Qwen3GeometryForwardSteps) {
  const ModelConfig config = geometry_preset("qwen3-0.6b");
  const std::string dir = temp_dir("qwen3-0.6b");
  write_random_checkpoint(config, dir, "", 99);
  const auto checkpoint = SafetensorsModel::open(dir);
  DecoderModel model(config, load_model_weights(config, checkpoint, *gpu), *gpu);
  const int seqs = 64, ctx = 512, pages_per = (ctx + 1 + kPage - 1) / kPage;
  auto kv = model.allocate_kv_cache(seqs * pages_per, kPage);
  const auto batch_for = [&](int rows_per_seq, int nseq, int start) {
    ForwardBatch b;
    b.plan.page_size = kPage;
    b.plan.num_rows = rows_per_seq * nseq;
    for (int s = 0; s < nseq; ++s) {
      std::vector<int32_t> rows, pages;
      for (int j = 0; j < rows_per_seq; ++j) {
        const int pos = start + j;
        rows.push_back(static_cast<int32_t>(b.token_ids.size()));
        b.token_ids.push_back((s * 131 + j * 7) % config.vocab_size);
        b.positions.push_back(pos);
        b.slots.push_back(s * pages_per * kPage + pos);
      }
      const int kv_len = start + rows_per_seq;
      for (int p = 0; p < (kv_len + kPage - 1) / kPage; ++p) pages.push_back(s * pages_per + p);
      b.plan.add_task(rows, pages, kv_len, 0, 0, true);
      b.logits_rows.push_back(rows.back());
    }
    b.plan.finalize();
    return b;
  };
  const ForwardBatch prefill = batch_for(ctx, 4, 0);
  const ForwardBatch decode = batch_for(1, seqs, ctx);
  const double weight_bytes = 2.0 * 0.6e9;
  print("qwen3-0.6b prefill 4 x 512 (FLOPs ~ 2 * params * tokens)",
        time_ms([&] { model.forward(prefill, kv); }, 3), 0, 2.0 * 0.6e9 * 2048);
  print("qwen3-0.6b decode step 64 x ctx 512 (weight + KV bytes)",
        time_ms([&] { model.forward(decode, kv); }, 10),
        weight_bytes + 64.0 * ctx * config.num_hidden_layers * 2 * 8 * 128 * 2, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cascade::test

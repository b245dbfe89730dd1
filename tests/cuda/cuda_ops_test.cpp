// Every row and elementwise op and linear of the CUDA backend against the CPU backend, on
// fresh random inputs that bf16 represents exactly, with outputs poisoned by NaN first.
//
// Bounds. Elementwise ops compute one fp32 value per element and round it to bf16, so each
// element is within one bf16 ulp (kBf16Ulp relative) of the CPU's fp32 value. A matrix
// product's elements can cancel, so its error is measured against the largest output:
// bf16 rounding of the output (2^-8 of it at most) plus fp32 accumulation in another order
// (far smaller at these lengths): max |diff| / max |ref| <= 2^-8 · 1.5.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>

#include "cuda_test_util.h"
#include "ops/cuda/cuda_backend.h"
#include "ops/cuda/cuda_kernels.h"

namespace cascade::test {
namespace {

struct LinearCase {
  int rows, in, out;
  bool bias;
};

int sms() {
  int device = 0, count = 0;
  EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_EQ(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device), cudaSuccess);
  return count;
}

class CudaOpsTest : public CudaBackendTest {
 protected:
  // The fused MLP up projection + activation gives the bits of linear then silu_mul on the
  // GPU, and the CPU's result within the bf16 bound. Decode rows (<= 8, k <= 8,192) run it as
  // one GEMV kernel, other steps as the two ops.
  void check_linear_silu_mul(const std::vector<std::tuple<int, int, int>>& shapes) {
    for (const auto& [rows, in, inter] : shapes) {
      const auto x = both(random_bf16_values(size_t(rows) * in, 61 + in), {rows, in});
      const auto w = both(
          random_bf16_values(size_t(2 * inter) * in, 62 + inter, 0.0f, 1.0f / std::sqrt(float(in))),
          {2 * inter, in});
      auto gate_up = outputs({rows, 2 * inter});
      auto fused = outputs({rows, inter});
      auto split = outputs({rows, inter});
      gpu->linear_silu_mul(x.gpu, w.gpu, gate_up.gpu, fused.gpu);
      gpu->linear(x.gpu, w.gpu, Tensor{}, gate_up.gpu);
      gpu->silu_mul(gate_up.gpu, split.gpu);
      cpu->linear_silu_mul(x.cpu, w.cpu, gate_up.cpu, fused.cpu);
      const std::string shape =
          "[" + std::to_string(rows) + ", " + std::to_string(in) + "] -> " + std::to_string(inter);
      EXPECT_EQ(host(*gpu, fused.gpu), host(*gpu, split.gpu)) << shape;
      const double err = relative_error(host(*gpu, fused.gpu), host(*cpu, fused.cpu));
      report("linear_silu_mul " + shape, err);
      EXPECT_LE(err, 3.0 / 256) << shape;  // the linear's bound, then silu·u's rounding
    }
  }

  void check_linear(const std::vector<LinearCase>& cases) {
    for (const LinearCase& c : cases) {
      const auto x = both(random_bf16_values(size_t(c.rows) * c.in, 51 + c.in), {c.rows, c.in});
      const auto w = both(
          random_bf16_values(size_t(c.out) * c.in, 52 + c.out, 0.0f, 1.0f / std::sqrt(float(c.in))),
          {c.out, c.in});
      Pair bias;
      if (c.bias) bias = both(random_bf16_values(size_t(c.out), 53 + c.out), {c.out});
      auto out = outputs({c.rows, c.out});
      cpu->linear(x.cpu, w.cpu, bias.cpu, out.cpu);
      gpu->linear(x.gpu, w.gpu, bias.gpu, out.gpu);
      const auto ref = host(*cpu, out.cpu);
      const double err = relative_error(host(*gpu, out.gpu), ref);
      const std::string shape = "[" + std::to_string(c.rows) + ", " + std::to_string(c.in) +
                                "] -> " + std::to_string(c.out) + (c.bias ? " +bias" : "");
      report("linear " + shape, err);
      EXPECT_LE(err, 1.5 / 256) << shape;

      // An f32 output (logits) keeps the fp32 accumulation: only summation order differs.
      Tensor out_f32 = gpu->allocate(DType::F32, {c.rows, c.out});
      gpu->linear(x.gpu, w.gpu, bias.gpu, out_f32);
      const double err_f32 = relative_error(host(*gpu, out_f32), ref);
      report("linear f32-out " + shape, err_f32);
      EXPECT_LE(err_f32, 1e-5) << "f32 out " << shape;
    }
  }
};

TEST_F(CudaOpsTest, GemvSiluMulEqualsTheTwoOpsAndTheCpu) {
  check_linear_silu_mul({{1, 896, 4864}, {3, 1024, 3072}, {8, 64, 40}, {1, 4096, 24}});
}

TEST_F(CudaOpsTest, LinearSiluMulEqualsTheTwoOpsAndTheCpu) {  // cuBLASLt, then silu_mul
  check_linear_silu_mul({{9, 896, 256}, {2, 8200, 40}});
}

// The residual stream's fused ops (decode rows: one GEMV kernel each) give the bits of the
// ops they replace on the GPU, themselves checked against the CPU above; other steps run
// those ops. Shapes: rows, hidden, projection width (gate/up: twice the activation's).
TEST_F(CudaOpsTest, ResidualStreamOpsEqualTheSeparateOps) {
  for (const auto& [rows, dim, width] :
       std::vector<std::tuple<int, int, int>>{{1, 896, 1152},
                                              {3, 1024, 3072},
                                              {8, 896, 4864},
                                              {8, 2560, 64},     // the largest fused norm
                                              {2, 4096, 40},     // four slices per column
                                              {4, 3072, 48},     // too long to normalize fused
                                              {9, 896, 256}}) {  // not a decode step
    const std::string shape =
        "[" + std::to_string(rows) + ", " + std::to_string(dim) + "] -> " + std::to_string(width);
    const auto residual_values = random_bf16_values(size_t(rows) * dim, 71 + dim, 0.5f, 2.0f);
    const auto norm_weight = both(random_bf16_values(size_t(dim), 72 + dim, 1.0f, 0.2f), {dim});
    const auto pending = both(random_bf16_values(size_t(rows) * dim, 73 + dim), {rows, dim});
    const auto w = both(
        random_bf16_values(size_t(width) * dim, 74 + width, 0.0f, 1.0f / std::sqrt(float(dim))),
        {width, dim});
    const auto bias = both(random_bf16_values(size_t(width), 75 + width), {width});
    const bool decode = rows <= 8;

    // linear_into_residual against linear then add_inplace.
    const auto x = both(random_bf16_values(size_t(rows) * width, 76 + width), {rows, width});
    const auto w_back = both(
        random_bf16_values(size_t(dim) * width, 77 + dim, 0.0f, 1.0f / std::sqrt(float(width))),
        {dim, width});
    auto fused_residual = both(residual_values, {rows, dim});
    auto split_residual = both(residual_values, {rows, dim});
    auto product = outputs({rows, dim});
    const bool added =
        gpu->linear_into_residual(x.gpu, w_back.gpu, fused_residual.gpu, product.gpu);
    EXPECT_EQ(added, decode) << shape;
    if (!added) gpu->add_inplace(fused_residual.gpu, product.gpu);
    gpu->linear(x.gpu, w_back.gpu, Tensor{}, product.gpu);
    gpu->add_inplace(split_residual.gpu, product.gpu);
    EXPECT_EQ(host(*gpu, fused_residual.gpu), host(*gpu, split_residual.gpu))
        << "linear_into_residual " << shape;

    // add_rms_norm_linear, nothing pending (fused for decode rows) and with a pending add.
    for (const bool with_pending : {false, true}) {
      const Tensor none;
      const Tensor& add = with_pending ? pending.gpu : none;
      auto fused_res = both(residual_values, {rows, dim});
      auto split_res = both(residual_values, {rows, dim});
      auto normed = outputs({rows, dim});
      auto fused = outputs({rows, width}), split = outputs({rows, width});
      gpu->add_rms_norm_linear(fused_res.gpu, add, norm_weight.gpu, 1e-6f, w.gpu, bias.gpu,
                               normed.gpu, fused.gpu);
      if (with_pending) {
        gpu->add_rms_norm(split_res.gpu, pending.gpu, norm_weight.gpu, 1e-6f, normed.gpu);
      } else {
        gpu->rms_norm(split_res.gpu, norm_weight.gpu, 1e-6f, normed.gpu);
      }
      gpu->linear(normed.gpu, w.gpu, bias.gpu, split.gpu);
      const std::string what = shape + (with_pending ? " pending" : "");
      EXPECT_EQ(host(*gpu, fused.gpu), host(*gpu, split.gpu)) << "add_rms_norm_linear " << what;
      EXPECT_EQ(host(*gpu, fused_res.gpu), host(*gpu, split_res.gpu)) << "residual " << what;

      // The MLP form: gate/up of width / 2 activations each.
      const int inter = width / 2;
      auto gate_up = outputs({rows, width});
      auto fused_act = outputs({rows, inter}), split_act = outputs({rows, inter});
      auto fused_res2 = both(residual_values, {rows, dim});
      gpu->add_rms_norm_linear_silu_mul(fused_res2.gpu, add, norm_weight.gpu, 1e-6f, w.gpu,
                                        normed.gpu, gate_up.gpu, fused_act.gpu);
      auto split_res2 = both(residual_values, {rows, dim});
      if (with_pending) {
        gpu->add_rms_norm(split_res2.gpu, pending.gpu, norm_weight.gpu, 1e-6f, normed.gpu);
      } else {
        gpu->rms_norm(split_res2.gpu, norm_weight.gpu, 1e-6f, normed.gpu);
      }
      gpu->linear_silu_mul(normed.gpu, w.gpu, gate_up.gpu, split_act.gpu);
      EXPECT_EQ(host(*gpu, fused_act.gpu), host(*gpu, split_act.gpu))
          << "add_rms_norm_linear_silu_mul " << what;
      EXPECT_EQ(host(*gpu, fused_res2.gpu), host(*gpu, split_res2.gpu)) << "residual " << what;
    }
  }
}

// The attention's QKV projection with qkv_store as its epilogue (decode rows, no q/k norms,
// nothing pending, k up to 4 slices) gives the bits of add_rms_norm_linear then qkv_store
// in q and both caches (every other slot keeps its NaN poison in both), and leaves the qkv
// scratch unwritten; other cases run those two ops. A slot outside the cache writes nothing.
TEST_F(CudaOpsTest, QkvProjectionWithStoreEqualsTheTwoOps) {
  struct Case {
    int rows, dim, hq, hkv, d;
    bool qk_norm, pending, fused;
  };
  for (const Case& c : std::vector<Case>{{1, 896, 14, 2, 64, false, false, true},  // B6's layer
                                         {8, 896, 14, 2, 64, false, false, true},
                                         {3, 1024, 16, 8, 128, false, false, true},
                                         {5, 2048, 4, 2, 64, false, false, true},   // 2 slices
                                         {2, 4096, 8, 2, 128, false, false, true},  // 4 slices
                                         {2, 5120, 4, 1, 64, false, false, false},  // 8 slices
                                         {4, 1024, 16, 8, 128, true, false, false},
                                         {3, 896, 14, 2, 64, false, true, false},
                                         {9, 896, 14, 2, 64, false, false, false}}) {
    const std::string what = "rows " + std::to_string(c.rows) + " dim " + std::to_string(c.dim) +
                             " hq " + std::to_string(c.hq) + " hkv " + std::to_string(c.hkv) +
                             " d " + std::to_string(c.d) + (c.qk_norm ? " qk-norm" : "") +
                             (c.pending ? " pending" : "");
    const int width = (c.hq + 2 * c.hkv) * c.d, page_size = 16, pages = 2;
    const auto residual_values = random_bf16_values(size_t(c.rows) * c.dim, 81 + c.dim, 0.5f, 2.0f);
    const auto norm_weight = both(random_bf16_values(size_t(c.dim), 82, 1.0f, 0.2f), {c.dim});
    const auto w = both(
        random_bf16_values(size_t(width) * c.dim, 83 + width, 0.0f, 1.0f / std::sqrt(float(c.dim))),
        {width, c.dim});
    const auto bias = both(random_bf16_values(size_t(width), 84 + width), {width});
    const auto pending = both(random_bf16_values(size_t(c.rows) * c.dim, 85), {c.rows, c.dim});
    Pair qn, kn;
    if (c.qk_norm) {
      qn = both(random_bf16_values(size_t(c.d), 86, 1.0f, 0.3f), {c.d});
      kn = both(random_bf16_values(size_t(c.d), 87, 1.0f, 0.3f), {c.d});
    }
    std::vector<int32_t> positions(size_t(c.rows)), slots(size_t(c.rows));
    std::mt19937 rng(static_cast<uint32_t>(c.rows * 131 + c.dim));
    for (int r = 0; r < c.rows; ++r) {
      positions[r] = static_cast<int32_t>(rng() % 40000);
      slots[r] = (r * 7 + 3) % (page_size * pages);
    }
    if (c.rows > 1) slots[1] = page_size * pages;  // past the cache: this row stores q only
    const auto pos = both_i32(positions, {c.rows}), slot = both_i32(slots, {c.rows});
    const Shape cache_shape = {pages, page_size, c.hkv, c.d};
    const RopeParams rope{1000000.0, c.d};
    const Tensor none;

    auto run = [&](bool one_op) {
      auto residual = both(residual_values, {c.rows, c.dim});
      auto normed = outputs({c.rows, c.dim}), qkv = outputs({c.rows, width});
      auto q = outputs({c.rows, c.hq, c.d}), k = outputs(cache_shape), v = outputs(cache_shape);
      KvLayer cache{k.gpu, v.gpu};
      const Tensor& add = c.pending ? pending.gpu : none;
      if (one_op) {
        gpu->add_rms_norm_linear_qkv_store(residual.gpu, add, norm_weight.gpu, 1e-6f, w.gpu,
                                           bias.gpu, normed.gpu, qkv.gpu, qn.gpu, kn.gpu, pos.gpu,
                                           slot.gpu, rope, q.gpu, cache);
      } else {
        gpu->add_rms_norm_linear(residual.gpu, add, norm_weight.gpu, 1e-6f, w.gpu, bias.gpu,
                                 normed.gpu, qkv.gpu);
        gpu->qkv_store(qkv.gpu, qn.gpu, kn.gpu, 1e-6f, pos.gpu, slot.gpu, rope, q.gpu, cache);
      }
      return std::vector<std::vector<uint32_t>>{
          float_bits(host(*gpu, q.gpu)), float_bits(host(*gpu, k.gpu)),
          float_bits(host(*gpu, v.gpu)), float_bits(host(*gpu, residual.gpu)),
          float_bits(host(*gpu, qkv.gpu))};
    };
    const auto fused = run(true), split = run(false);
    EXPECT_EQ(fused[0], split[0]) << "q, " << what;
    EXPECT_EQ(fused[1], split[1]) << "k cache, " << what;
    EXPECT_EQ(fused[2], split[2]) << "v cache, " << what;
    EXPECT_EQ(fused[3], split[3]) << "residual, " << what;
    const auto nan = float_bits(nan_values(fused[4].size()));
    EXPECT_EQ(fused[4] == nan, c.fused) << "qkv scratch unwritten iff fused, " << what;
    EXPECT_NE(split[4], nan) << what;
  }
}

// A layer's whole MLP as one kernel (decode rows, nothing pending; off by default, so
// switched on here in both of its copy modes) gives the bits of
// add_rms_norm_linear_silu_mul then linear_into_residual in act and the residual, and
// leaves the gate_up and product scratch unwritten; other cases run those two ops. The
// shapes: B6's (Qwen2.5-0.5B), Qwen3-0.6B's, one where most blocks have no column, and
// the longest k (8 slices) both ways.
TEST_F(CudaOpsTest, DecodeMlpEqualsTheTwoOps) {
  auto* cuda_backend = dynamic_cast<CudaBackend*>(gpu.get());
  ASSERT_NE(cuda_backend, nullptr);
  struct Case {
    int rows, dim, inter;
    bool pending, fused;
  };
  for (const int mode : {1, 2}) {
    cuda_backend->set_decode_mlp_mode(mode);
    for (const Case& c : std::vector<Case>{{1, 896, 4864, false, true},
                                           {8, 896, 4864, false, true},
                                           {3, 1024, 3072, false, true},
                                           {2, 64, 40, false, true},
                                           {5, 8192, 8, false, true},
                                           {1, 256, 8192, false, true},
                                           {2, 896, 4864, true, false},
                                           {9, 896, 4864, false, false}}) {
      const std::string what = "mode " + std::to_string(mode) + " rows " + std::to_string(c.rows) +
                               " dim " + std::to_string(c.dim) + " inter " +
                               std::to_string(c.inter) + (c.pending ? " pending" : "");
      const auto residual_values =
          random_bf16_values(size_t(c.rows) * c.dim, 91 + c.dim, 0.5f, 2.0f);
      const auto norm_weight = both(random_bf16_values(size_t(c.dim), 92, 1.0f, 0.2f), {c.dim});
      const auto w_gate_up = both(random_bf16_values(size_t(2 * c.inter) * c.dim, 93 + c.inter,
                                                     0.0f, 1.0f / std::sqrt(float(c.dim))),
                                  {2 * c.inter, c.dim});
      const auto w_down = both(random_bf16_values(size_t(c.dim) * c.inter, 94 + c.dim, 0.0f,
                                                  1.0f / std::sqrt(float(c.inter))),
                               {c.dim, c.inter});
      const auto pending = both(random_bf16_values(size_t(c.rows) * c.dim, 95), {c.rows, c.dim});
      const Tensor none;
      const Tensor& add = c.pending ? pending.gpu : none;

      auto run = [&](bool one_op) {
        auto residual = both(residual_values, {c.rows, c.dim});
        auto normed = outputs({c.rows, c.dim}), gate_up = outputs({c.rows, 2 * c.inter});
        auto act = outputs({c.rows, c.inter}), product = outputs({c.rows, c.dim});
        if (one_op) {
          const bool added = gpu->add_rms_norm_mlp_into_residual(
              residual.gpu, add, norm_weight.gpu, 1e-6f, w_gate_up.gpu, w_down.gpu, normed.gpu,
              gate_up.gpu, act.gpu, product.gpu);
          EXPECT_EQ(added, c.rows <= 8) << what;
          if (!added) gpu->add_inplace(residual.gpu, product.gpu);
        } else {
          gpu->add_rms_norm_linear_silu_mul(residual.gpu, add, norm_weight.gpu, 1e-6f,
                                            w_gate_up.gpu, normed.gpu, gate_up.gpu, act.gpu);
          if (!gpu->linear_into_residual(act.gpu, w_down.gpu, residual.gpu, product.gpu)) {
            gpu->add_inplace(residual.gpu, product.gpu);
          }
        }
        return std::vector<std::vector<uint32_t>>{
            float_bits(host(*gpu, act.gpu)), float_bits(host(*gpu, residual.gpu)),
            float_bits(host(*gpu, gate_up.gpu)), float_bits(host(*gpu, product.gpu))};
      };
      const auto fused = run(true), split = run(false);
      EXPECT_EQ(fused[0], split[0]) << "act, " << what;
      EXPECT_EQ(fused[1], split[1]) << "residual, " << what;
      EXPECT_NE(fused[1], float_bits(residual_values)) << "the residual changed, " << what;
      // Rows past 8 write both scratch tensors (matrix products); decode rows neither.
      EXPECT_EQ(fused[2] == float_bits(nan_values(fused[2].size())), c.rows <= 8) << what;
      EXPECT_EQ(fused[3] == float_bits(nan_values(fused[3].size())), c.rows <= 8) << what;
      // The one-kernel path is the one these shapes take (the bits above are the same either
      // way by design, so this is what tells the paths apart).
      const bool kernel =
          !c.pending && cuda::decode_mlp_fits(cuda::decode_mlp_device(0, mode), c.rows, c.dim,
                                              c.inter, {w_gate_up.gpu.data, w_down.gpu.data});
      EXPECT_EQ(kernel, c.fused) << what;
    }
  }
  cuda_backend->set_decode_mlp_mode(0);
}

TEST_F(CudaOpsTest, EmbeddingCopiesRowsExactly) {
  for (const auto& [vocab, hidden, rows] :
       std::vector<std::tuple<int, int, int>>{{50, 64, 7}, {300, 37, 33}, {1000, 1024, 1}}) {
    const auto table =
        both(random_bf16_values(size_t(vocab) * hidden, 11 + hidden), {vocab, hidden});
    std::vector<int32_t> ids(static_cast<size_t>(rows));
    std::mt19937 rng(static_cast<uint32_t>(rows));
    for (auto& id : ids) id = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
    const auto id_t = both_i32(ids, {rows});
    auto out = outputs({rows, hidden});
    cpu->embedding(id_t.cpu, table.cpu, out.cpu);
    gpu->embedding(id_t.gpu, table.gpu, out.gpu);
    EXPECT_EQ(host(*gpu, out.gpu), host(*cpu, out.cpu)) << "hidden " << hidden;
  }
}

TEST_F(CudaOpsTest, RmsNormWithinOneUlp) {
  for (const auto& [rows, dim] :
       std::vector<std::pair<int, int>>{{1, 64}, {5, 37}, {17, 896}, {64, 1024}, {3, 5000}}) {
    const auto x = both(random_bf16_values(size_t(rows) * dim, 21 + dim, 0.5f, 3.0f), {rows, dim});
    const auto w = both(random_bf16_values(size_t(dim), 22 + dim, 1.0f, 0.2f), {dim});
    auto out = outputs({rows, dim});
    cpu->rms_norm(x.cpu, w.cpu, 1e-6f, out.cpu);
    gpu->rms_norm(x.gpu, w.gpu, 1e-6f, out.gpu);
    const double err = max_elementwise_error(host(*gpu, out.gpu), host(*cpu, out.cpu));
    report("rms_norm [" + std::to_string(rows) + ", " + std::to_string(dim) + "] elementwise", err);
    EXPECT_LE(err, kBf16Ulp) << rows << " x " << dim;
  }
}

TEST_F(CudaOpsTest, AddInplaceWithinOneUlp) {
  for (const auto& shape : std::vector<Shape>{{1, 1}, {3, 37}, {17, 896}, {130, 1024}}) {
    const auto n = static_cast<size_t>(shape_numel(shape));
    const auto acc_host = random_bf16_values(n, 31 + static_cast<uint32_t>(n));
    auto acc = both(acc_host, shape);
    const auto x = both(random_bf16_values(n, 32 + static_cast<uint32_t>(n)), shape);
    cpu->add_inplace(acc.cpu, x.cpu);
    gpu->add_inplace(acc.gpu, x.gpu);
    // Where the sum cancels to (near) zero, compare against the inputs' size instead.
    const auto g = host(*gpu, acc.gpu), c = host(*cpu, acc.cpu);
    report("add_inplace " + shape_string(shape), relative_error(g, c));
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(g[i]));
      ASSERT_LE(std::fabs(g[i] - c[i]), kBf16Ulp * std::fabs(c[i]) + 1e-7) << i;
    }
  }
}

TEST_F(CudaOpsTest, SiluMulWithinOneUlp) {
  for (const auto& [rows, n] : std::vector<std::pair<int, int>>{{1, 40}, {7, 37}, {33, 3072}}) {
    const auto gate_up =
        both(random_bf16_values(size_t(rows) * 2 * n, 41 + n, 0.0f, 2.0f), {rows, 2 * n});
    auto out = outputs({rows, n});
    cpu->silu_mul(gate_up.cpu, out.cpu);
    gpu->silu_mul(gate_up.gpu, out.gpu);
    const double err = max_elementwise_error(host(*gpu, out.gpu), host(*cpu, out.cpu));
    report("silu_mul [" + std::to_string(rows) + ", " + std::to_string(n) + "] elementwise", err);
    EXPECT_LE(err, kBf16Ulp) << rows << " x " << n;
  }
}

// silu_mul by 8 columns a thread (CASCADE_SILU_MUL_BY_8, the default) gives the scalar
// kernel's bits; n not a multiple of 8 falls back to the scalar kernel.
TEST_F(CudaOpsTest, SiluMulBy8GivesTheScalarKernelsBits) {
  const bool before = cuda::silu_mul_by_8_enabled();
  for (const auto& [rows, n] :
       std::vector<std::pair<int, int>>{{1, 40}, {7, 37}, {33, 3072}, {256, 3072}, {3, 4864}}) {
    const auto gate_up =
        both(random_bf16_values(size_t(rows) * 2 * n, 43 + n, 0.0f, 3.0f), {rows, 2 * n});
    auto scalar = outputs({rows, n}), by_8 = outputs({rows, n});
    cuda::set_silu_mul_by_8(false);
    gpu->silu_mul(gate_up.gpu, scalar.gpu);
    cuda::set_silu_mul_by_8(true);
    gpu->silu_mul(gate_up.gpu, by_8.gpu);
    cuda::set_silu_mul_by_8(before);
    const auto expected = host(*gpu, scalar.gpu);
    EXPECT_EQ(host(*gpu, by_8.gpu), expected) << rows << " x " << n;
    EXPECT_FALSE(
        std::any_of(expected.begin(), expected.end(), [](float v) { return std::isnan(v); }))
        << rows << " x " << n;
  }
}

// Decode rows (<= 8, k <= 8,192): our GEMV kernel.
TEST_F(CudaOpsTest, GemvLinearMatchesCpuRelativeToLargestOutput) {
  check_linear({{1, 64, 96, false},
                {2, 1024, 4096, true},
                {7, 896, 1152, true},
                {5, 37, 53, true},
                {8, 4864, 896, false},
                {3, 896, 9728, false},
                {4, 64, 13, true},
                {1, 3072, 1024, true},
                {6, 8192, 64, false}});
}

// Larger steps and longer rows: cuBLASLt (the skinny GEMM off for steps it would take).
TEST_F(CudaOpsTest, LinearMatchesCpuRelativeToLargestOutput) {
  const cuda::SkinnyGemmMode skinny = cuda::skinny_gemm_mode();
  cuda::set_skinny_gemm(cuda::SkinnyGemmMode::kOff);
  check_linear({{33, 1024, 6144, false},
                {130, 3072, 1024, false},
                {300, 64, 512, false},
                {2, 8200, 40, false},
                {9, 896, 1152, true}});
  cuda::set_skinny_gemm(skinny);
}

// Steps of 9 to 256 rows with n and k multiples of 64, on Hopper: our tensor-core kernels
// (cuda_skinny_gemm.cu; every thread copying x and w, then the copy engine), against the
// CPU: each case through the backend's linear (the tiling skinny_gemm_shape chooses), then
// in every other tiling that fits it (64 or 128 columns, k split over clusters of 1, 2, 4
// and 8 blocks), so that together the cases run every tiling the kernels have (one or two
// warpgroups, partial row tiles) whatever the chooser picks. The row past the output stays
// as poisoned.
class CudaSkinnyGemmTest : public CudaOpsTest,
                           public ::testing::WithParamInterface<cuda::SkinnyGemmMode> {};

TEST_P(CudaSkinnyGemmTest, MatchesCpuInEveryTiling) {
  const cuda::SkinnyGemmMode skinny = cuda::skinny_gemm_mode();
  cuda::set_skinny_gemm(GetParam());
  if (!cuda::skinny_gemm_fits(9, 64, 64, nullptr, nullptr, nullptr)) {
    cuda::set_skinny_gemm(skinny);
    GTEST_SKIP() << "no sm_90a tensor-core GEMM on this GPU";
  }
  auto& cuda_backend = dynamic_cast<CudaBackend&>(*gpu);
  const std::vector<LinearCase> cases{{9, 1024, 4096, false},  {64, 2048, 1024, true},
                                      {65, 896, 1152, true},   {128, 1024, 6144, false},
                                      {200, 3072, 1024, true}, {256, 128, 16384, false},
                                      {100, 64, 640, true},    {32, 256, 8192, false}};
  std::set<std::tuple<int, int, int>> tilings;
  for (const LinearCase& c : cases) {
    const cuda::SkinnyGemmShape chosen = cuda::skinny_gemm_shape(c.rows, c.out, c.in, sms());
    const auto x = both(random_bf16_values(size_t(c.rows) * c.in, 71 + c.in), {c.rows, c.in});
    const auto w = both(
        random_bf16_values(size_t(c.out) * c.in, 72 + c.out, 0.0f, 1.0f / std::sqrt(float(c.in))),
        {c.out, c.in});
    Pair bias;
    if (c.bias) bias = both(random_bf16_values(size_t(c.out), 73 + c.out), {c.out});
    auto out = outputs({c.rows + 1, c.out});
    Tensor gpu_out = out.gpu.rows(0, c.rows), cpu_out = out.cpu.rows(0, c.rows);
    ASSERT_TRUE(cuda::skinny_gemm_fits(c.rows, c.out, c.in, x.gpu.data, w.gpu.data, gpu_out.data));
    cpu->linear(x.cpu, w.cpu, bias.cpu, cpu_out);
    const std::vector<float> expected = host(*cpu, cpu_out);
    const auto check = [&](const cuda::SkinnyGemmShape& s, const char* how) {
      tilings.insert({s.warpgroups, s.tile_columns, s.cluster});
      const std::vector<float> all = host(*gpu, out.gpu);
      const auto split = all.begin() + int64_t{c.rows} * c.out;
      const std::string shape = "[" + std::to_string(c.rows) + ", " + std::to_string(c.in) +
                                "] -> " + std::to_string(c.out) + " on " +
                                std::to_string(s.warpgroups) + " warpgroups, " +
                                std::to_string(s.tile_columns) + " columns, clusters of " +
                                std::to_string(s.cluster) + how;
      const double err = relative_error({all.begin(), split}, expected);
      report("skinny gemm " + shape, err);
      EXPECT_LE(err, 1.5 / 256) << shape;
      EXPECT_TRUE(std::all_of(split, all.end(), [](float v) { return std::isnan(v); })) << shape;
    };
    gpu->linear(x.gpu, w.gpu, bias.gpu, gpu_out);
    check(chosen, " (chosen, by linear)");
    for (const int columns : {64, 128}) {
      if (c.out % columns != 0) continue;
      for (int cluster = 1; cluster <= 8 && cluster <= c.in / 64; cluster *= 2) {
        if (columns == chosen.tile_columns && cluster == chosen.cluster) continue;
        cuda::SkinnyGemmShape s = chosen;
        s.tile_columns = columns;
        s.cluster = cluster;
        cuda::skinny_gemm_shaped(
            static_cast<const cuda::bf16*>(x.gpu.data), static_cast<const cuda::bf16*>(w.gpu.data),
            c.bias ? static_cast<const cuda::bf16*>(bias.gpu.data) : nullptr,
            static_cast<cuda::bf16*>(gpu_out.data), c.rows, c.out, c.in, s, cuda_backend.stream());
        check(s, "");
      }
    }
  }
  // Every tiling: 1 or 2 warpgroups × 64 or 128 columns × clusters of 1, 2, 4 or 8.
  EXPECT_EQ(tilings.size(), 16u);
  cuda::set_skinny_gemm(skinny);
}

INSTANTIATE_TEST_SUITE_P(Kernels, CudaSkinnyGemmTest,
                         ::testing::Values(cuda::SkinnyGemmMode::kCopies,
                                           cuda::SkinnyGemmMode::kCopyEngine),
                         [](const ::testing::TestParamInfo<cuda::SkinnyGemmMode>& param_info) {
                           return param_info.param == cuda::SkinnyGemmMode::kCopies ? "Copies"
                                                                                    : "CopyEngine";
                         });

// qkv_store: q (normed, un-rotated) and the cache's K (normed, rotated) and V at scrambled
// slots, with and without q/k norms (Qwen3 / Qwen2), several head layouts.
// Both kernels: a warp per head, and 8 elements a lane (CASCADE_QKV_STORE_BY_8).
TEST_F(CudaOpsTest, QkvStoreMatchesCpuAndWritesOnlyItsSlots) {
  struct Case {
    int rows, hq, hkv, d;
    bool norm;
  };
  const bool by_8_before = cuda::qkv_store_by_8_enabled();
  for (const bool by_8 : {false, true}) {
    cuda::set_qkv_store_by_8(by_8);
    for (const Case& c : std::vector<Case>{{13, 4, 2, 32, true},
                                           {5, 16, 8, 128, true},
                                           {37, 16, 8, 128, true},
                                           {9, 14, 2, 64, false},
                                           {3, 8, 1, 16, true},
                                           {2, 4, 2, 256, true}}) {
      const int page_size = 16, pages = 4;
      const int width = (c.hq + 2 * c.hkv) * c.d;
      const auto qkv =
          both(random_bf16_values(size_t(c.rows) * width, 61 + c.d, 0.3f, 2.0f), {c.rows, width});
      Pair qn, kn;
      if (c.norm) {
        qn = both(random_bf16_values(size_t(c.d), 62, 1.0f, 0.3f), {c.d});
        kn = both(random_bf16_values(size_t(c.d), 63, 1.0f, 0.3f), {c.d});
      }
      std::vector<int32_t> positions(static_cast<size_t>(c.rows)), slots(positions.size());
      std::vector<int32_t> all_slots(page_size * pages);
      std::iota(all_slots.begin(), all_slots.end(), 0);
      std::mt19937 rng(static_cast<uint32_t>(c.d));
      std::shuffle(all_slots.begin(), all_slots.end(), rng);
      for (int r = 0; r < c.rows; ++r) {
        positions[r] = static_cast<int32_t>(rng() % 40000);
        slots[r] = all_slots[r];
      }
      const auto pos = both_i32(positions, {c.rows}), slot = both_i32(slots, {c.rows});
      const Shape cache_shape = {pages, page_size, c.hkv, c.d};
      auto k = outputs(cache_shape), v = outputs(cache_shape), q = outputs({c.rows, c.hq, c.d});
      KvLayer cpu_cache{k.cpu, v.cpu}, gpu_cache{k.gpu, v.gpu};
      const RopeParams rope{1000000.0, c.d};
      cpu->qkv_store(qkv.cpu, qn.cpu, kn.cpu, 1e-6f, pos.cpu, slot.cpu, rope, q.cpu, cpu_cache);
      gpu->qkv_store(qkv.gpu, qn.gpu, kn.gpu, 1e-6f, pos.gpu, slot.gpu, rope, q.gpu, gpu_cache);

      const std::string shape = "hq " + std::to_string(c.hq) + " hkv " + std::to_string(c.hkv) +
                                " d " + std::to_string(c.d) + (c.norm ? " qk-norm" : "");
      const double q_err = max_elementwise_error(host(*gpu, q.gpu), host(*cpu, q.cpu));
      report("qkv_store q elementwise " + shape, q_err);
      EXPECT_LE(q_err, kBf16Ulp) << shape;
      // Gather the written slots; every other slot must still hold the GPU's NaN poison.
      const auto gk = host(*gpu, k.gpu), gv = host(*gpu, v.gpu);
      const auto ck = host(*cpu, k.cpu), cv = host(*cpu, v.cpu);
      const size_t kv = size_t(c.hkv) * c.d;
      std::vector<float> gk_w, ck_w, gv_w, cv_w;
      std::vector<bool> written(all_slots.size(), false);
      for (int32_t s : slots) {
        written[s] = true;
        gk_w.insert(gk_w.end(), gk.begin() + s * kv, gk.begin() + (s + 1) * kv);
        ck_w.insert(ck_w.end(), ck.begin() + s * kv, ck.begin() + (s + 1) * kv);
        gv_w.insert(gv_w.end(), gv.begin() + s * kv, gv.begin() + (s + 1) * kv);
        cv_w.insert(cv_w.end(), cv.begin() + s * kv, cv.begin() + (s + 1) * kv);
      }
      // K mixes two elements in the rotation, so measure against the largest value.
      const double k_err = relative_error(gk_w, ck_w);
      report("qkv_store k " + shape, k_err);
      EXPECT_LE(k_err, kBf16Ulp) << "k, " << shape;
      EXPECT_EQ(gv_w, cv_w) << "v is a copy, d " << c.d;
      for (size_t s = 0; s < written.size(); ++s) {
        if (!written[s]) {
          EXPECT_TRUE(std::isnan(gk[s * kv]) && std::isnan(gv[s * kv])) << "slot " << s;
        }
      }
    }
  }
  cuda::set_qkv_store_by_8(by_8_before);
}

// Without q/k norms the by-8 kernel's arithmetic is the warp kernel's element for element
// (copies, and each rotation from the same angle): the same bits in q and both caches.
TEST_F(CudaOpsTest, QkvStoreBy8GivesTheWarpKernelsBitsWithoutNorms) {
  const bool by_8_before = cuda::qkv_store_by_8_enabled();
  for (const auto& [rows, hq, hkv, d] : std::vector<std::array<int, 4>>{
           {1, 14, 2, 64}, {9, 14, 2, 64}, {33, 16, 8, 128}, {5, 4, 4, 32}}) {
    const int width = (hq + 2 * hkv) * d, slots_total = 64;
    const auto qkv =
        both(random_bf16_values(size_t(rows) * width, 71 + d, 0.1f, 3.0f), {rows, width});
    std::vector<int32_t> positions(static_cast<size_t>(rows)), slots(positions.size());
    for (int r = 0; r < rows; ++r) {
      positions[r] = 17 + 997 * r;
      slots[r] = r == 2 ? -1 : (r * 5) % slots_total;  // row 2: no slot, writes only q
    }
    const auto pos = both_i32(positions, {rows}), slot = both_i32(slots, {rows});
    const RopeParams rope{1000000.0, d};
    std::vector<std::vector<float>> results[2];
    for (const bool by_8 : {false, true}) {
      cuda::set_qkv_store_by_8(by_8);
      auto k = outputs({slots_total, 1, hkv, d}), v = outputs({slots_total, 1, hkv, d});
      auto q = outputs({rows, hq, d});
      KvLayer cache{k.gpu, v.gpu};
      gpu->qkv_store(qkv.gpu, Tensor{}, Tensor{}, 1e-6f, pos.gpu, slot.gpu, rope, q.gpu, cache);
      results[by_8] = {host(*gpu, q.gpu), host(*gpu, k.gpu), host(*gpu, v.gpu)};
    }
    for (int i = 0; i < 3; ++i) {
      // NaN poison in unwritten slots: bit patterns, not values.
      EXPECT_EQ(float_bits(results[0][i]), float_bits(results[1][i]))
          << "rows " << rows << " d " << d << " output " << i;
    }
  }
  cuda::set_qkv_store_by_8(by_8_before);
}

TEST_F(CudaOpsTest, RejectsWrongDtypesAndShapesWithNamedArgument) {
  Tensor x = gpu->allocate(DType::BF16, {2, 8}), w = gpu->allocate(DType::BF16, {8});
  Tensor f32 = gpu->allocate(DType::F32, {2, 8});
  try {
    gpu->rms_norm(f32, w, 1e-6f, x);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rms_norm: argument 'x' must be bf16"), std::string::npos)
        << e.what();
  }
  Tensor wrong = gpu->allocate(DType::BF16, {3, 8});
  EXPECT_THROW(gpu->rms_norm(x, w, 1e-6f, wrong), Error);
}

// Steps of at most 2 rows take the GEMVs (and PDL) by default, larger ones cuBLASLt;
// CASCADE_GEMV_MAX_ROWS moves the limit within 1..8 and names itself when out of range.
// Host state only: no GPU needed.
TEST(CudaGemvRows, DefaultLimitAndItsVariable) {
  ::unsetenv("CASCADE_GEMV_MAX_ROWS");
  cuda::prepare_gemv_rows();
  EXPECT_EQ(cuda::gemv_max_rows(), 2);
  EXPECT_TRUE(cuda::step_takes_programmatic_launch(2));
  EXPECT_FALSE(cuda::step_takes_programmatic_launch(3));
  ::setenv("CASCADE_GEMV_MAX_ROWS", "8", 1);
  cuda::prepare_gemv_rows();
  EXPECT_EQ(cuda::gemv_max_rows(), 8);
  EXPECT_TRUE(cuda::step_takes_programmatic_launch(8));
  ::setenv("CASCADE_GEMV_MAX_ROWS", "9", 1);
  try {
    cuda::prepare_gemv_rows();
    ADD_FAILURE() << "CASCADE_GEMV_MAX_ROWS=9 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CASCADE_GEMV_MAX_ROWS"), std::string::npos) << e.what();
  }
  ::unsetenv("CASCADE_GEMV_MAX_ROWS");
  cuda::prepare_gemv_rows();
}

}  // namespace
}  // namespace cascade::test

// Each op of the CPU backend against a slow, obviously-correct reference in double.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <vector>

#include "base/error.h"
#include "ops/backend.h"
#include "ops/cpu/thread_pool.h"

namespace cascade {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor upload(Backend& b, const std::vector<float>& v, Shape shape) {
  return b.upload(v.data(), DType::F32, std::move(shape));
}

std::vector<float> download(Backend& b, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  b.download_f32(t, v.data());
  return v;
}

// max |a - b| / max |b|: the normalised error of a result against its reference.
double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return diff / scale;
}

class CpuBackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
};

TEST_F(CpuBackendTest, UploadConvertsHalfTypesToF32) {
  const std::vector<uint16_t> bf16 = {f32_to_bf16(1.5f), f32_to_bf16(-0.25f)};
  const std::vector<uint16_t> f16 = {f32_to_f16(3.0f), f32_to_f16(-0.5f)};
  EXPECT_EQ(backend->compute_dtype(), DType::F32);
  Tensor a = backend->upload(bf16.data(), DType::BF16, {2});
  Tensor b = backend->upload(f16.data(), DType::F16, {2});
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(download(*backend, a), (std::vector<float>{1.5f, -0.25f}));
  EXPECT_EQ(download(*backend, b), (std::vector<float>{3.0f, -0.5f}));
  const int32_t ids[3] = {4, -1, 7};
  Tensor i = backend->upload_i32(ids, {3});
  EXPECT_EQ(i.as<int32_t>()[1], -1);
  EXPECT_THROW(backend->download_f32(i, nullptr), Error);
}

// An empty batch's logits come with null pointers on both sides (an empty vector's data());
// memcpy with a null pointer is undefined even for 0 bytes (UBSan's nonnull-attribute
// check found it in build-asan).
TEST_F(CpuBackendTest, EmptyTensorsCopyNothingWithNullPointers) {
  Tensor empty = backend->allocate(DType::F32, {0, 4});
  backend->download_f32(empty, nullptr);
  Tensor ids = backend->upload_i32(nullptr, {0});
  EXPECT_EQ(ids.numel(), 0);
}

TEST_F(CpuBackendTest, EmbeddingCopiesTableRows) {
  const int vocab = 11, hidden = 7;
  const auto table_host = random_floats(vocab * hidden, 1);
  const std::vector<int32_t> ids = {3, 0, 10, 3};
  Tensor table = upload(*backend, table_host, {vocab, hidden});
  Tensor id = backend->upload_i32(ids.data(), {4});
  Tensor out = backend->allocate(DType::F32, {4, hidden});
  backend->embedding(id, table, out);
  const auto got = download(*backend, out);
  for (size_t r = 0; r < ids.size(); ++r) {
    for (int i = 0; i < hidden; ++i)
      EXPECT_EQ(got[r * hidden + i], table_host[ids[r] * hidden + i]);
  }
  const int32_t bad = vocab;
  Tensor bad_id = backend->upload_i32(&bad, {1});
  Tensor one = backend->allocate(DType::F32, {1, hidden});
  EXPECT_THROW(backend->embedding(bad_id, table, one), Error);
}

TEST_F(CpuBackendTest, RmsNormMatchesReference) {
  const int rows = 9, dim = 37;
  const float eps = 1e-5f;
  const auto x = random_floats(rows * dim, 2, 3.0f), w = random_floats(dim, 3);
  Tensor out = backend->allocate(DType::F32, {rows, dim});
  backend->rms_norm(upload(*backend, x, {rows, dim}), upload(*backend, w, {dim}), eps, out);
  std::vector<double> want(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double inv = 1 / std::sqrt(ss / dim + eps);
    for (int i = 0; i < dim; ++i) want[r * dim + i] = x[r * dim + i] * inv * w[i];
  }
  // A handful of f32 roundings per element: a few ulps.
  EXPECT_LT(relative_error(download(*backend, out), want), 1e-6);
}

TEST_F(CpuBackendTest, LinearMatchesReferenceWithAndWithoutBias) {
  const int rows = 5, in = 33, n_out = 19;
  const auto x = random_floats(rows * in, 4), w = random_floats(n_out * in, 5),
             bias = random_floats(n_out, 6);
  Tensor xt = upload(*backend, x, {rows, in}), wt = upload(*backend, w, {n_out, in});
  for (bool with_bias : {false, true}) {
    Tensor out = backend->allocate(DType::F32, {rows, n_out});
    backend->linear(xt, wt, with_bias ? upload(*backend, bias, {n_out}) : Tensor{}, out);
    std::vector<double> want(rows * n_out);
    for (int r = 0; r < rows; ++r) {
      for (int o = 0; o < n_out; ++o) {
        double s = with_bias ? bias[o] : 0.0;
        for (int i = 0; i < in; ++i) s += double(x[r * in + i]) * w[o * in + i];
        want[r * n_out + o] = s;
      }
    }
    // f32 dot products of 33 terms of size ~1: error ~ 33 · 2^-24 relative to the terms.
    EXPECT_LT(relative_error(download(*backend, out), want), 1e-5) << "bias " << with_bias;
  }
  Tensor wrong = backend->allocate(DType::F32, {rows, n_out + 1});
  EXPECT_THROW(backend->linear(xt, wt, Tensor{}, wrong), Error);
}

TEST_F(CpuBackendTest, AddInplaceAndSiluMul) {
  const int rows = 3, n = 13;
  const auto a = random_floats(rows * n, 7), b = random_floats(rows * n, 8);
  Tensor acc = upload(*backend, a, {rows, n});
  backend->add_inplace(acc, upload(*backend, b, {rows, n}));
  const auto sum = download(*backend, acc);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(sum[i], a[i] + b[i]);

  const auto gu = random_floats(rows * 2 * n, 9, 3.0f);
  Tensor out = backend->allocate(DType::F32, {rows, n});
  backend->silu_mul(upload(*backend, gu, {rows, 2 * n}), out);
  std::vector<double> want(rows * n);
  for (int r = 0; r < rows; ++r) {
    for (int i = 0; i < n; ++i) {
      const double g = gu[r * 2 * n + i], u = gu[r * 2 * n + n + i];
      want[r * n + i] = g / (1 + std::exp(-g)) * u;
    }
  }
  EXPECT_LT(relative_error(download(*backend, out), want), 1e-6);
}

// The residual-stream ops, unfused on the CPU: a projection is left pending (false), and a
// pending add joins the residual before the norm; the results are those of the separate
// ops, bit for bit.
TEST_F(CpuBackendTest, ResidualStreamOpsAreTheSeparateOps) {
  const int rows = 3, dim = 16, width = 10;
  const auto residual = random_floats(rows * dim, 21), pending = random_floats(rows * dim, 22);
  const auto norm_w = random_floats(dim, 23), w = random_floats(width * dim, 24);
  const auto x = random_floats(rows * width, 25), w_back = random_floats(dim * width, 26);
  const float eps = 1e-6f;

  Tensor res = upload(*backend, residual, {rows, dim});
  Tensor out = backend->allocate(DType::F32, {rows, dim});
  EXPECT_FALSE(backend->linear_into_residual(upload(*backend, x, {rows, width}),
                                             upload(*backend, w_back, {dim, width}), res, out));
  EXPECT_EQ(download(*backend, res), residual) << "the residual is left as it was";
  Tensor product = backend->allocate(DType::F32, {rows, dim});
  backend->linear(upload(*backend, x, {rows, width}), upload(*backend, w_back, {dim, width}),
                  Tensor{}, product);
  EXPECT_EQ(download(*backend, out), download(*backend, product));

  for (const bool with_pending : {false, true}) {
    Tensor fused_res = upload(*backend, residual, {rows, dim});
    Tensor split_res = upload(*backend, residual, {rows, dim});
    const Tensor add = with_pending ? upload(*backend, pending, {rows, dim}) : Tensor{};
    const Tensor nw = upload(*backend, norm_w, {dim}), wt = upload(*backend, w, {width, dim});
    Tensor normed = backend->allocate(DType::F32, {rows, dim});
    Tensor fused = backend->allocate(DType::F32, {rows, width});
    Tensor split = backend->allocate(DType::F32, {rows, width});
    backend->add_rms_norm_linear(fused_res, add, nw, eps, wt, Tensor{}, normed, fused);
    if (with_pending) backend->add_inplace(split_res, add);
    backend->rms_norm(split_res, nw, eps, normed);
    backend->linear(normed, wt, Tensor{}, split);
    EXPECT_EQ(download(*backend, fused), download(*backend, split)) << with_pending;
    EXPECT_EQ(download(*backend, fused_res), download(*backend, split_res)) << with_pending;

    Tensor gate_up = backend->allocate(DType::F32, {rows, width});
    Tensor fused_act = backend->allocate(DType::F32, {rows, width / 2});
    Tensor split_act = backend->allocate(DType::F32, {rows, width / 2});
    Tensor fused_res2 = upload(*backend, residual, {rows, dim});
    backend->add_rms_norm_linear_silu_mul(fused_res2, add, nw, eps, wt, normed, gate_up, fused_act);
    backend->linear_silu_mul(normed, wt, gate_up, split_act);  // normed: split_res's norm
    EXPECT_EQ(download(*backend, fused_act), download(*backend, split_act)) << with_pending;
    EXPECT_EQ(download(*backend, fused_res2), download(*backend, split_res)) << with_pending;
  }
}

// Reference rotate-half RoPE in double.
void rope_reference(std::vector<double>& x, int64_t position, double theta) {
  const size_t half = x.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    const double angle = double(position) * std::pow(theta, -2.0 * double(i) / double(x.size()));
    const double a = x[i], b = x[i + half];
    x[i] = a * std::cos(angle) - b * std::sin(angle);
    x[i + half] = b * std::cos(angle) + a * std::sin(angle);
  }
}

TEST_F(CpuBackendTest, QkvStoreNormsRotatesAndWritesTheCache) {
  const int rows = 3, hq = 4, hkv = 2, d = 8, page_size = 4, pages = 3;
  const float eps = 1e-6f;
  const double theta = 1e6;
  const std::vector<int32_t> positions = {0, 5, 41}, slots = {9, 2, 4};
  const auto qkv = random_floats(rows * (hq + 2 * hkv) * d, 10);
  const auto qn = random_floats(d, 11), kn = random_floats(d, 12);
  for (bool with_norm : {false, true}) {
    KvLayer cache{backend->allocate(DType::F32, {pages, page_size, hkv, d}),
                  backend->allocate(DType::F32, {pages, page_size, hkv, d})};
    Tensor q = backend->allocate(DType::F32, {rows, hq, d});
    backend->qkv_store(upload(*backend, qkv, {rows, (hq + 2 * hkv) * d}),
                       with_norm ? upload(*backend, qn, {d}) : Tensor{},
                       with_norm ? upload(*backend, kn, {d}) : Tensor{}, eps,
                       backend->upload_i32(positions.data(), {rows}),
                       backend->upload_i32(slots.data(), {rows}), RopeParams{theta, d}, q, cache);
    const auto q_got = download(*backend, q), k_got = download(*backend, cache.k),
               v_got = download(*backend, cache.v);
    const auto head = [&](int r, int h) {  // head h of row r of qkv, normed if asked
      std::vector<double> x(d);
      for (int i = 0; i < d; ++i) x[i] = qkv[(r * (hq + 2 * hkv) + h) * d + i];
      if (with_norm && h < hq + hkv) {
        double ss = 0;
        for (double e : x) ss += e * e;
        const double inv = 1 / std::sqrt(ss / d + eps);
        for (int i = 0; i < d; ++i) x[i] *= inv * (h < hq ? qn[i] : kn[i]);
      }
      return x;
    };
    for (int r = 0; r < rows; ++r) {
      for (int h = 0; h < hq; ++h) {
        const auto want = head(r, h);  // q stays un-rotated
        for (int i = 0; i < d; ++i) EXPECT_NEAR(q_got[(r * hq + h) * d + i], want[i], 1e-5);
      }
      for (int h = 0; h < hkv; ++h) {
        auto k_want = head(r, hq + h);
        rope_reference(k_want, positions[r], theta);
        const auto v_want = head(r, hq + hkv + h);
        for (int i = 0; i < d; ++i) {
          // float32 angles as in HF: |error| <= position · 2^-24 per unit of norm.
          EXPECT_NEAR(k_got[(slots[r] * hkv + h) * d + i], k_want[i], 1e-5) << r << " " << h;
          EXPECT_EQ(v_got[(slots[r] * hkv + h) * d + i], float(v_want[i]));
        }
      }
    }
    // Slots not written stay zero.
    for (int i = 0; i < hkv * d; ++i) EXPECT_EQ(k_got[0 * hkv * d + i], 0.0f);
  }
}

TEST_F(CpuBackendTest, QkvStoreRejectsSlotsOutsideTheCache) {
  KvLayer cache{backend->allocate(DType::F32, {1, 4, 1, 4}),
                backend->allocate(DType::F32, {1, 4, 1, 4})};
  Tensor q = backend->allocate(DType::F32, {1, 1, 4});
  const int32_t pos = 0, slot = 4;
  EXPECT_THROW(backend->qkv_store(backend->allocate(DType::F32, {1, 12}), Tensor{}, Tensor{}, 1e-6f,
                                  backend->upload_i32(&pos, {1}), backend->upload_i32(&slot, {1}),
                                  RopeParams{1e4, 4}, q, cache),
               Error);
}

TEST(CpuBackend, ResultsDoNotDependOnThreadCount) {
  const int rows = 67, in = 45, n_out = 31;
  const auto x = random_floats(rows * in, 13), w = random_floats(n_out * in, 14),
             bias = random_floats(n_out, 15), gu = random_floats(rows * 2 * in, 16);
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2, 3}) {
    auto b = make_cpu_backend(threads);
    Tensor lin = b->allocate(DType::F32, {rows, n_out}), norm = b->allocate(DType::F32, {rows, in}),
           act = b->allocate(DType::F32, {rows, in});
    b->linear(upload(*b, x, {rows, in}), upload(*b, w, {n_out, in}), upload(*b, bias, {n_out}),
              lin);
    b->rms_norm(upload(*b, x, {rows, in}), upload(*b, w, {in}), 1e-6f, norm);
    b->silu_mul(upload(*b, gu, {rows, 2 * in}), act);
    const std::vector<std::vector<float>> got = {download(*b, lin), download(*b, norm),
                                                 download(*b, act)};
    if (first.empty()) first = got;
    EXPECT_EQ(got, first) << threads << " threads";
  }
}

TEST(ThreadPool, CoversEveryIndexOnceAndRethrows) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 2, 5, 97}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++hits[i];
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
  EXPECT_THROW(pool.parallel_for(10, 1,
                                 [](int64_t b, int64_t) {
                                   if (b > 0) throw Error("boom");
                                 }),
               Error);
}

}  // namespace
}  // namespace cascade

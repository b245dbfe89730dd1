// The decoder forward against a naive double-precision Qwen3 / Qwen2 written out in full
// here, on small random weights; plus the step shapes the engine uses (batches, decode
// steps, chunked prefill, multi-task plans) against the plain prefill.
#include "model/decoder_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.h"
#include "model/contiguous_runner.h"

namespace cascade {
namespace {

using Vec = std::vector<float>;

struct HostLayer {
  Vec input_norm, qkv, qkv_bias, q_norm, k_norm, o_proj, post_norm, gate_up, down;
};
struct HostWeights {
  Vec embed, final_norm, lm_head;
  std::vector<HostLayer> layers;
};

ModelConfig tiny_config(Architecture arch) {
  ModelConfig c;
  c.architecture = arch;
  c.vocab_size = 37;
  c.hidden_size = 24;
  c.intermediate_size = 20;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 256;
  if (arch == Architecture::Qwen3) {
    c.head_dim = 8;  // != hidden / heads, as Qwen3 allows
    c.rope_theta = 1e6;
    c.rms_norm_eps = 1e-6f;
    c.qk_norm = true;
    c.tie_word_embeddings = true;
  } else {
    c.head_dim = 6;
    c.rope_theta = 1e4;
    c.rms_norm_eps = 1e-5f;
    c.attention_bias = true;
  }
  return c;
}

Vec random_vec(std::mt19937& rng, size_t n, double scale, double mean = 0) {
  std::normal_distribution<double> dist(mean, scale);
  Vec v(n);
  for (float& x : v) x = static_cast<float>(dist(rng));
  return v;
}

HostWeights random_weights(const ModelConfig& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t h = c.hidden_size, i = c.intermediate_size, d = c.head_dim;
  const size_t qkv = c.q_dim() + 2 * c.kv_dim();
  HostWeights w;
  w.embed = random_vec(rng, c.vocab_size * h, 1.0);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    HostLayer L;
    L.input_norm = random_vec(rng, h, 0.1, 1.0);
    L.qkv = random_vec(rng, qkv * h, 1 / std::sqrt(double(h)));
    if (c.attention_bias) L.qkv_bias = random_vec(rng, qkv, 0.1);
    if (c.qk_norm) L.q_norm = random_vec(rng, d, 0.1, 1.0), L.k_norm = random_vec(rng, d, 0.1, 1.0);
    L.o_proj = random_vec(rng, h * c.q_dim(), 1 / std::sqrt(double(c.q_dim())));
    L.post_norm = random_vec(rng, h, 0.1, 1.0);
    L.gate_up = random_vec(rng, 2 * i * h, 1 / std::sqrt(double(h)));
    L.down = random_vec(rng, h * i, 1 / std::sqrt(double(i)));
    w.layers.push_back(L);
  }
  w.final_norm = random_vec(rng, h, 0.1, 1.0);
  w.lm_head =
      c.tie_word_embeddings ? w.embed : random_vec(rng, c.vocab_size * h, 1 / std::sqrt(double(h)));
  return w;
}

ModelWeights upload_weights(const ModelConfig& c, const HostWeights& w, Backend& b) {
  const auto up = [&](const Vec& v, Shape shape) {
    return v.empty() ? Tensor{} : b.upload(v.data(), DType::F32, std::move(shape));
  };
  const int64_t h = c.hidden_size, i = c.intermediate_size, d = c.head_dim;
  const int64_t qkv = c.q_dim() + 2 * c.kv_dim();
  ModelWeights m;
  m.embed = up(w.embed, {c.vocab_size, h});
  for (const HostLayer& L : w.layers) {
    m.layers.push_back({up(L.input_norm, {h}), up(L.qkv, {qkv, h}), up(L.qkv_bias, {qkv}),
                        up(L.q_norm, {d}), up(L.k_norm, {d}), up(L.o_proj, {h, c.q_dim()}),
                        up(L.post_norm, {h}), up(L.gate_up, {2 * i, h}), up(L.down, {h, i})});
  }
  m.final_norm = up(w.final_norm, {h});
  m.lm_head = c.tie_word_embeddings ? m.embed : up(w.lm_head, {c.vocab_size, h});
  return m;
}

// ---- The naive reference, in double, one sequence at a time. ----
using DVec = std::vector<double>;

DVec rms(const double* x, const Vec& w, size_t n, double eps) {
  double ss = 0;
  for (size_t k = 0; k < n; ++k) ss += x[k] * x[k];
  const double inv = 1 / std::sqrt(ss / double(n) + eps);
  DVec out(n);
  for (size_t k = 0; k < n; ++k) out[k] = x[k] * inv * w[k];
  return out;
}

DVec matvec(const Vec& w, const DVec& x, size_t rows, const Vec& bias = {}) {
  DVec out(rows);
  for (size_t r = 0; r < rows; ++r) {
    double s = bias.empty() ? 0 : bias[r];
    for (size_t k = 0; k < x.size(); ++k) s += w[r * x.size() + k] * x[k];
    out[r] = s;
  }
  return out;
}

void rope(double* x, size_t d, double position, double theta) {
  for (size_t k = 0; k < d / 2; ++k) {
    const double angle = position * std::pow(theta, -2.0 * double(k) / double(d));
    const double a = x[k], b = x[k + d / 2];
    x[k] = a * std::cos(angle) - b * std::sin(angle);
    x[k + d / 2] = b * std::cos(angle) + a * std::sin(angle);
  }
}

// Logits [tokens, vocab] of a full causal forward over `tokens`.
std::vector<DVec> reference_logits(const ModelConfig& c, const HostWeights& w,
                                   const std::vector<int32_t>& tokens) {
  const size_t T = tokens.size(), H = c.hidden_size, D = c.head_dim, hq = c.num_attention_heads,
               hkv = c.num_key_value_heads, I = c.intermediate_size;
  std::vector<DVec> x(T, DVec(H));
  for (size_t t = 0; t < T; ++t) {
    for (size_t k = 0; k < H; ++k) x[t][k] = w.embed[tokens[t] * H + k];
  }
  for (const HostLayer& L : w.layers) {
    std::vector<DVec> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      const DVec qkv = matvec(L.qkv, rms(x[t].data(), L.input_norm, H, c.rms_norm_eps),
                              (hq + 2 * hkv) * D, L.qkv_bias);
      q[t].assign(qkv.begin(), qkv.begin() + hq * D);
      k[t].assign(qkv.begin() + hq * D, qkv.begin() + (hq + hkv) * D);
      v[t].assign(qkv.begin() + (hq + hkv) * D, qkv.end());
      for (size_t h = 0; h < hq; ++h) {
        if (c.qk_norm) {
          const DVec n = rms(&q[t][h * D], L.q_norm, D, c.rms_norm_eps);
          std::copy(n.begin(), n.end(), q[t].begin() + h * D);
        }
        rope(&q[t][h * D], D, double(t), c.rope_theta);
      }
      for (size_t h = 0; h < hkv; ++h) {
        if (c.qk_norm) {
          const DVec n = rms(&k[t][h * D], L.k_norm, D, c.rms_norm_eps);
          std::copy(n.begin(), n.end(), k[t].begin() + h * D);
        }
        rope(&k[t][h * D], D, double(t), c.rope_theta);
      }
    }
    for (size_t t = 0; t < T; ++t) {
      DVec attn(hq * D, 0.0);
      for (size_t h = 0; h < hq; ++h) {
        const size_t g = h / (hq / hkv);
        DVec p(t + 1);
        for (size_t j = 0; j <= t; ++j) {
          double s = 0;
          for (size_t e = 0; e < D; ++e) s += q[t][h * D + e] * k[j][g * D + e];
          p[j] = s / std::sqrt(double(D));
        }
        const double mx = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (double& e : p) sum += (e = std::exp(e - mx));
        for (size_t j = 0; j <= t; ++j) {
          for (size_t e = 0; e < D; ++e) attn[h * D + e] += p[j] / sum * v[j][g * D + e];
        }
      }
      const DVec o = matvec(L.o_proj, attn, H);
      for (size_t e = 0; e < H; ++e) x[t][e] += o[e];
    }
    for (size_t t = 0; t < T; ++t) {
      const DVec gu = matvec(L.gate_up, rms(x[t].data(), L.post_norm, H, c.rms_norm_eps), 2 * I);
      DVec act(I);
      for (size_t e = 0; e < I; ++e) act[e] = gu[e] / (1 + std::exp(-gu[e])) * gu[I + e];
      const DVec down = matvec(L.down, act, H);
      for (size_t e = 0; e < H; ++e) x[t][e] += down[e];
    }
  }
  std::vector<DVec> logits(T);
  for (size_t t = 0; t < T; ++t) {
    logits[t] = matvec(w.lm_head, rms(x[t].data(), w.final_norm, H, c.rms_norm_eps), c.vocab_size);
  }
  return logits;
}

// max over the row of |got - want| / max |want|.
double row_error(const float* got, const DVec& want) {
  double diff = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    diff = std::max(diff, std::fabs(got[k] - want[k]));
    scale = std::max(scale, std::fabs(want[k]));
  }
  return diff / scale;
}

std::vector<int32_t> random_tokens(size_t n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % uint32_t(vocab));
  return t;
}

class DecoderModelTest : public ::testing::TestWithParam<Architecture> {
 protected:
  ModelConfig config = tiny_config(GetParam());
  HostWeights host = random_weights(config, 42);
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  DecoderModel model{config, upload_weights(config, host, *backend), *backend};
  const std::vector<std::vector<int32_t>> prompts = {
      random_tokens(1, 37, 1), random_tokens(19, 37, 2), random_tokens(6, 37, 3)};

  std::vector<float> run(const ForwardBatch& batch, std::vector<KvLayer>& kv) {
    const Tensor t = model.forward(batch, kv);
    std::vector<float> host_logits(size_t(t.numel()));
    backend->download_f32(t, host_logits.data());
    return host_logits;
  }
};

// Two layers of f32 products with O(1) activations: errors of a few 1e-7 relative.
constexpr double kTolerance = 1e-5;

TEST_P(DecoderModelTest, PrefillMatchesNaiveReferenceAloneAndBatched) {
  ContiguousRunner runner(model, 4);
  const auto batched = runner.prefill_logits(prompts);
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto alone = runner.prefill_logits({prompts[p]});
    const auto want = reference_logits(config, host, prompts[p]);
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LT(row_error(&alone[0][t * 37], want[t]), kTolerance)
          << "prompt " << p << " pos " << t;
      EXPECT_LT(row_error(&batched[p][t * 37], want[t]), kTolerance)
          << "prompt " << p << " pos " << t;
    }
  }
}

TEST_P(DecoderModelTest, GreedyDecodeStepsAgreeWithFullPrefill) {
  ContiguousRunner runner(model, 4);
  const auto generated = runner.greedy(prompts, 9);
  ASSERT_EQ(generated.size(), prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    ASSERT_EQ(generated[p].size(), 9u);
    std::vector<int32_t> seq = prompts[p];
    for (int32_t token : generated[p]) {
      const DVec last = reference_logits(config, host, seq).back();
      const auto best = std::max_element(last.begin(), last.end()) - last.begin();
      ASSERT_EQ(token, best) << "prompt " << p << " after " << seq.size() << " tokens";
      seq.push_back(token);
    }
  }
}

TEST_P(DecoderModelTest, ChunkedPrefillWithPrefixTaskMatchesReference) {
  // Tokens [0, 12) in a first step; tokens [12, 19) in a second step that attends to the
  // first chunk through a non-causal task on its pages and to itself through a causal one.
  const auto& tokens = prompts[1];
  const auto want = reference_logits(config, host, tokens);
  const int page_size = 4;
  auto kv = model.allocate_kv_cache(8, page_size);
  const std::vector<int32_t> pages = {6, 1, 3, 0, 7};  // page j of the sequence
  const auto step = [&](int begin, int end, bool split) {
    ForwardBatch b;
    b.plan.page_size = page_size;
    b.plan.num_rows = end - begin;
    std::vector<int32_t> rows;
    for (int t = begin; t < end; ++t) {
      rows.push_back(t - begin);
      b.token_ids.push_back(tokens[t]);
      b.positions.push_back(t);
      b.slots.push_back(pages[t / page_size] * page_size + t % page_size);
      b.logits_rows.push_back(t - begin);
    }
    const auto span = [&](int first, int last) {
      return std::vector<int32_t>(pages.begin() + first, pages.begin() + last);
    };
    if (split) {
      b.plan.add_task(rows, span(0, begin / page_size), begin, 0, 0, false);
      b.plan.add_task(rows, span(begin / page_size, (end + page_size - 1) / page_size), end - begin,
                      begin, 0, true);
    } else {
      b.plan.add_task(rows, span(0, (end + page_size - 1) / page_size), end, 0, 0, true);
    }
    b.plan.finalize();
    return run(b, kv);
  };
  for (bool split : {false, true}) {
    const auto first = step(0, 12, false);
    const auto second = step(12, 19, split);
    for (int t = 0; t < 12; ++t) EXPECT_LT(row_error(&first[t * 37], want[t]), kTolerance);
    for (int t = 12; t < 19; ++t) {
      EXPECT_LT(row_error(&second[(t - 12) * 37], want[t]), kTolerance) << "split " << split;
    }
  }
}

TEST_P(DecoderModelTest, LogitsRowsSelectAndOrderTheRows) {
  auto kv = model.allocate_kv_cache(2, 8);
  ForwardBatch b;
  b.token_ids = {3, 9, 27};
  b.positions = {0, 1, 2};
  b.slots = {0, 1, 2};
  b.plan.page_size = 8;
  b.plan.num_rows = 3;
  b.plan.add_task({0, 1, 2}, {0}, 3, 0, 0, true);
  b.plan.finalize();
  b.logits_rows = {2, 0};
  const auto got = run(b, kv);
  ASSERT_EQ(got.size(), 2u * 37);
  const auto want = reference_logits(config, host, b.token_ids);
  EXPECT_LT(row_error(&got[0], want[2]), kTolerance);
  EXPECT_LT(row_error(&got[37], want[0]), kTolerance);
}

TEST_P(DecoderModelTest, RejectsMalformedBatches) {
  auto kv = model.allocate_kv_cache(1, 8);
  ForwardBatch b;
  b.token_ids = {37};  // outside the vocabulary
  b.positions = {0};
  b.slots = {0};
  b.plan.page_size = 8;
  b.plan.num_rows = 1;
  b.plan.add_task({0}, {0}, 1, 0, 0, true);
  b.plan.finalize();
  EXPECT_THROW(model.forward(b, kv), Error);
  b.token_ids = {5};
  b.slots = {0, 1};
  EXPECT_THROW(model.forward(b, kv), Error);
  b.slots = {0};
  b.logits_rows = {1};
  EXPECT_THROW(model.forward(b, kv), Error);
  b.logits_rows = {0};
  EXPECT_EQ(model.forward(b, kv).dim(1), 37);
}

// The head layouts of the real checkpoints (Qwen3-0.6B: 16 q / 8 kv heads of 128;
// Qwen2.5-0.5B: 14 q / 2 kv heads of 64) at a small width, against the naive reference.
TEST(DecoderModelHeads, RealModelHeadLayoutsMatchTheReference) {
  struct Heads {
    Architecture arch;
    int q, kv, dim;
  };
  for (const Heads h :
       {Heads{Architecture::Qwen3, 16, 8, 128}, Heads{Architecture::Qwen2, 14, 2, 64}}) {
    ModelConfig c = tiny_config(h.arch);
    c.num_attention_heads = h.q;
    c.num_key_value_heads = h.kv;
    c.head_dim = h.dim;
    c.num_hidden_layers = 1;
    const HostWeights host = random_weights(c, 7);
    auto backend = make_cpu_backend(2);
    DecoderModel model(c, upload_weights(c, host, *backend), *backend);
    ContiguousRunner runner(model, 16);
    const auto prompt = random_tokens(21, c.vocab_size, 9);
    const auto got = runner.prefill_logits({prompt}).at(0);
    const auto want = reference_logits(c, host, prompt);
    for (size_t t = 0; t < want.size(); ++t) {
      EXPECT_LT(row_error(&got[t * static_cast<size_t>(c.vocab_size)], want[t]), kTolerance)
          << h.q << "/" << h.kv << " heads of " << h.dim << ", pos " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, DecoderModelTest,
                         ::testing::Values(Architecture::Qwen3, Architecture::Qwen2),
                         [](const ::testing::TestParamInfo<Architecture>& param_info) {
                           return param_info.param == Architecture::Qwen3 ? "Qwen3" : "Qwen2";
                         });

}  // namespace
}  // namespace cascade

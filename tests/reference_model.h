// A naive double-precision Qwen3 / Qwen2 forward written out in full, with small random
// weights: the reference for the decoder and for compositional chunk layouts.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "model/model_config.h"
#include "model/model_weights.h"
#include "ops/backend.h"

namespace cascade::test {

using Vec = std::vector<float>;

struct HostLayer {
  Vec input_norm, qkv, qkv_bias, q_norm, k_norm, o_proj, post_norm, gate_up, down;
};
struct HostWeights {
  Vec embed, final_norm, lm_head;
  std::vector<HostLayer> layers;
};

inline ModelConfig tiny_config(Architecture arch) {
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

inline Vec random_vec(std::mt19937& rng, size_t n, double scale, double mean = 0) {
  std::normal_distribution<double> dist(mean, scale);
  Vec v(n);
  for (float& x : v) x = static_cast<float>(dist(rng));
  return v;
}

inline HostWeights random_weights(const ModelConfig& c, uint32_t seed) {
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

inline ModelWeights upload_weights(const ModelConfig& c, const HostWeights& w, Backend& b) {
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

// Host copies of loaded weights (the inverse of upload_weights), for checkpoints on disk.
inline HostWeights download_weights(const ModelWeights& m, Backend& b) {
  const auto down = [&](const Tensor& t) {
    Vec v;
    if (!t.defined()) return v;
    v.resize(static_cast<size_t>(t.numel()));
    b.download_f32(t, v.data());
    return v;
  };
  HostWeights w;
  w.embed = down(m.embed);
  for (const auto& L : m.layers) {
    w.layers.push_back({down(L.input_norm), down(L.qkv), down(L.qkv_bias), down(L.q_norm),
                        down(L.k_norm), down(L.o_proj), down(L.post_norm), down(L.gate_up),
                        down(L.down)});
  }
  w.final_norm = down(m.final_norm);
  w.lm_head = down(m.lm_head);
  return w;
}

// ---- The naive reference, in double, one sequence at a time. ----
using DVec = std::vector<double>;

inline DVec rms(const double* x, const Vec& w, size_t n, double eps) {
  double ss = 0;
  for (size_t k = 0; k < n; ++k) ss += x[k] * x[k];
  const double inv = 1 / std::sqrt(ss / double(n) + eps);
  DVec out(n);
  for (size_t k = 0; k < n; ++k) out[k] = x[k] * inv * w[k];
  return out;
}

inline DVec matvec(const Vec& w, const DVec& x, size_t rows, const Vec& bias = {}) {
  DVec out(rows);
  for (size_t r = 0; r < rows; ++r) {
    double s = bias.empty() ? 0 : bias[r];
    for (size_t k = 0; k < x.size(); ++k) s += w[r * x.size() + k] * x[k];
    out[r] = s;
  }
  return out;
}

inline void rope(double* x, size_t d, double position, double theta) {
  for (size_t k = 0; k < d / 2; ++k) {
    const double angle = position * std::pow(theta, -2.0 * double(k) / double(d));
    const double a = x[k], b = x[k + d / 2];
    x[k] = a * std::cos(angle) - b * std::sin(angle);
    x[k + d / 2] = b * std::cos(angle) + a * std::sin(angle);
  }
}

// Who attends to whom, and where (RoPE) each pair sees each other. For query token t and
// key token j (visible(t, j)), q_t is rotated at position(t, t) and k_j at position(t, j):
// the key's position is the one in the query's frame, which is how compositional chunks
// are defined (a chunk's own tokens see each other at canonical positions; the request's
// tokens see every chunk at its logical place).
struct ReferenceLayout {
  std::function<bool(size_t t, size_t j)> visible;
  std::function<double(size_t t, size_t j)> position;
};

inline ReferenceLayout causal_layout() {
  return {[](size_t t, size_t j) { return j <= t; },
          [](size_t, size_t j) { return static_cast<double>(j); }};
}

// Logits [tokens, vocab] of a forward over `tokens` with the given layout.
inline std::vector<DVec> reference_logits(const ModelConfig& c, const HostWeights& w,
                                          const std::vector<int32_t>& tokens,
                                          const ReferenceLayout& layout = causal_layout()) {
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
      }
      for (size_t h = 0; h < hkv; ++h) {
        if (c.qk_norm) {
          const DVec n = rms(&k[t][h * D], L.k_norm, D, c.rms_norm_eps);
          std::copy(n.begin(), n.end(), k[t].begin() + h * D);
        }
      }
    }
    for (size_t t = 0; t < T; ++t) {
      DVec attn(hq * D, 0.0);
      for (size_t h = 0; h < hq; ++h) {
        const size_t g = h / (hq / hkv);
        DVec qr(q[t].begin() + h * D, q[t].begin() + (h + 1) * D);
        rope(qr.data(), D, layout.position(t, t), c.rope_theta);
        DVec p(T, -INFINITY);
        for (size_t j = 0; j < T; ++j) {
          if (!layout.visible(t, j)) continue;
          DVec kr(k[j].begin() + g * D, k[j].begin() + (g + 1) * D);
          rope(kr.data(), D, layout.position(t, j), c.rope_theta);
          double s = 0;
          for (size_t e = 0; e < D; ++e) s += qr[e] * kr[e];
          p[j] = s / std::sqrt(double(D));
        }
        const double mx = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (double& e : p) sum += (e = std::exp(e - mx));
        for (size_t j = 0; j < T; ++j) {
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
inline double row_error(const float* got, const DVec& want) {
  double diff = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    diff = std::max(diff, std::fabs(got[k] - want[k]));
    scale = std::max(scale, std::fabs(want[k]));
  }
  return diff / scale;
}

}  // namespace cascade::test

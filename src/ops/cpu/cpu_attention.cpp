// Attention as tasks + merge (ops/attention_plan.h) on the CPU, in three passes:
//  1. rotate each slot's query at (position - rope_delta of its task);
//  2. per task and kv head: gather the task's K and V from its pages, then for blocks of
//     query rows S = Q·Kᵀ (sgemm, scaled to base 2), masked base-2 softmax, O = P·V (sgemm);
//  3. merge every row's partial states through their LSE.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/cpu_rope.h"

namespace cascade {
namespace {

constexpr double kLog2e = 1.4426950408889634;
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
// Query rows (slots × heads of a group) per matrix product: enough to keep sgemm
// efficient, few enough that the scores of a long task stay small.
constexpr int64_t kBlockRows = 128;

// Copies kv head `head` of tokens [0, len) of a task from the paged cache
// [pages, page_size, hkv, d] into dst [len, d].
void gather_head(const float* cache, const int32_t* pages, int64_t len, int64_t page_size,
                 int64_t hkv, int64_t head, int64_t d, float* dst) {
  for (int64_t j = 0; j < len; ++j) {
    const int64_t slot = pages[j / page_size] * page_size + j % page_size;
    std::memcpy(dst + j * d, cache + (slot * hkv + head) * d,
                static_cast<size_t>(d) * sizeof(float));
  }
}

}  // namespace

// q: [rows, hq, d] f32 (un-rotated); positions: [rows] i32; cache.k, cache.v:
// [pages, page_size, hkv, d] f32; out: [rows, hq, d] f32.
void CpuBackend::attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                           const AttentionPlan& plan, const RopeParams& rope, Tensor& out) {
  check_attention_args(q, positions, cache, rope, out, DType::F32);
  const int64_t rows = q.dim(0), hq = q.dim(1), d = q.dim(2);
  const int64_t page_size = cache.k.dim(1), hkv = cache.k.dim(2);
  check_attention_plan(plan, rows, cache.k.dim(0), page_size);

  const int64_t num_slots = plan.num_slots(), group = hq / hkv;
  const int32_t* pos = positions.as<int32_t>();
  // Partial state of (slot s, head h): row (h / group, s, h % group).
  const auto state = [&](int64_t s, int64_t h) {
    return ((h / group) * num_slots + s) * group + h % group;
  };
  std::vector<int32_t> slot_task(static_cast<size_t>(num_slots));
  for (int t = 0; t < plan.num_tasks(); ++t) {
    for (int32_t s = plan.row_begin[t]; s < plan.row_begin[t + 1]; ++s) slot_task[s] = t;
  }
  rotated_q_.resize(static_cast<size_t>(num_slots * hq * d));
  partial_o_.resize(static_cast<size_t>(num_slots * hq * d));
  partial_lse_.resize(static_cast<size_t>(num_slots * hq));

  // Pass 1: each slot's query, rotated where its task sees it.
  const RopeTable table(rope);
  pool_.parallel_for(num_slots, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> cos(static_cast<size_t>(d / 2)), sin(static_cast<size_t>(d / 2));
    for (int64_t s = begin; s < end; ++s) {
      const int32_t row = plan.task_rows[s];
      table.cos_sin(static_cast<int64_t>(pos[row]) - plan.rope_delta[slot_task[s]], cos.data(),
                    sin.data());
      for (int64_t h = 0; h < hq; ++h) {
        float* dst = rotated_q_.data() + state(s, h) * d;
        std::memcpy(dst, q.as<float>() + (row * hq + h) * d,
                    static_cast<size_t>(d) * sizeof(float));
        rope_rotate(dst, cos.data(), sin.data(), table.half());
      }
    }
  });

  // Pass 2: one partial state (o, lse) per (slot, head), task by task.
  const auto scale = static_cast<float>(kLog2e / std::sqrt(static_cast<double>(d)));
  std::vector<int64_t> visible;
  for (int t = 0; t < plan.num_tasks(); ++t) {
    const int64_t s0 = plan.row_begin[t], s1 = plan.row_begin[t + 1], len = plan.kv_len[t];
    visible.resize(static_cast<size_t>(s1 - s0));
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t seen = plan.causal[t] ? pos[plan.task_rows[s]] - plan.kv_pos0[t] + 1 : len;
      visible[s - s0] = std::clamp<int64_t>(seen, 0, len);
    }
    const int32_t* pages = plan.task_pages.data() + plan.page_begin[t];
    task_k_.resize(static_cast<size_t>(len * d));
    task_v_.resize(static_cast<size_t>(len * d));
    const int64_t block_slots = std::max<int64_t>(1, kBlockRows / group);
    for (int64_t g = 0; g < hkv; ++g) {
      gather_head(cache.k.as<float>(), pages, len, page_size, hkv, g, d, task_k_.data());
      gather_head(cache.v.as<float>(), pages, len, page_size, hkv, g, d, task_v_.data());
      for (int64_t b0 = s0; b0 < s1; b0 += block_slots) {
        const int64_t b1 = std::min(s1, b0 + block_slots), block_rows = (b1 - b0) * group;
        const int64_t first = (g * num_slots + b0) * group;  // first state row of the block
        // Only the keys some row of the block can see take part.
        const int64_t cols =
            *std::max_element(visible.begin() + (b0 - s0), visible.begin() + (b1 - s0));
        float* o = partial_o_.data() + first * d;
        if (cols == 0) {  // nothing to attend to: contributes nothing to the merge
          std::fill(o, o + block_rows * d, 0.0f);
          std::fill_n(partial_lse_.data() + first, block_rows, kMinusInf);
          continue;
        }
        scores_.resize(static_cast<size_t>(block_rows * cols));
        inv_sum_.resize(static_cast<size_t>(block_rows));
        // scores [block_rows, cols] = log2(e)/sqrt(d) · Q [block_rows, d] · Kᵀ [d, cols]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(block_rows),
                    static_cast<int>(cols), static_cast<int>(d), scale,
                    rotated_q_.data() + first * d, static_cast<int>(d), task_k_.data(),
                    static_cast<int>(d), 0.0f, scores_.data(), static_cast<int>(cols));
        // Masked base-2 softmax, unnormalised: p = 2^(score - max) on visible keys, else 0.
        pool_.parallel_for(block_rows, 8, [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            const int64_t n = visible[b0 - s0 + r / group];
            float* p = scores_.data() + r * cols;
            if (n == 0) {
              std::fill(p, p + cols, 0.0f);
              inv_sum_[r] = 0.0f;
              partial_lse_[first + r] = kMinusInf;
              continue;
            }
            const float max_score = *std::max_element(p, p + n);
            double sum = 0;
            for (int64_t j = 0; j < n; ++j) sum += (p[j] = std::exp2(p[j] - max_score));
            std::fill(p + n, p + cols, 0.0f);
            inv_sum_[r] = static_cast<float>(1.0 / sum);
            partial_lse_[first + r] = static_cast<float>(max_score + std::log2(sum));
          }
        });
        // o [block_rows, d] = P [block_rows, cols] · V [cols, d], then normalised.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(block_rows),
                    static_cast<int>(d), static_cast<int>(cols), 1.0f, scores_.data(),
                    static_cast<int>(cols), task_v_.data(), static_cast<int>(d), 0.0f, o,
                    static_cast<int>(d));
        for (int64_t r = 0; r < block_rows; ++r) {
          for (int64_t i = 0; i < d; ++i) o[r * d + i] *= inv_sum_[r];
        }
      }
    }
  }

  // Pass 3: s = log2(sum_i 2^s_i), o = sum_i 2^(s_i - s) o_i over each row's slots.
  float* result = out.as<float>();
  pool_.parallel_for(rows * hq, 4, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(d));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t r = unit / hq, h = unit % hq;
      // Rows past the plan's are padding: nothing to merge, zeros.
      const bool planned = r < plan.num_rows;
      const int32_t m0 = planned ? plan.merge_begin[r] : 0;
      const int32_t m1 = planned ? plan.merge_begin[r + 1] : 0;
      float max_lse = kMinusInf;
      for (int32_t m = m0; m < m1; ++m) {
        max_lse = std::max(max_lse, partial_lse_[state(plan.merge_slots[m], h)]);
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      if (max_lse != kMinusInf) {
        double total = 0;
        for (int32_t m = m0; m < m1; ++m) {
          total += std::exp2(double(partial_lse_[state(plan.merge_slots[m], h)]) - max_lse);
        }
        const double lse = max_lse + std::log2(total);
        for (int32_t m = m0; m < m1; ++m) {
          const int64_t st = state(plan.merge_slots[m], h);
          const double w = std::exp2(double(partial_lse_[st]) - lse);
          const float* po = partial_o_.data() + st * d;
          for (int64_t i = 0; i < d; ++i) acc[i] += w * po[i];
        }
      }
      float* o = result + unit * d;
      for (int64_t i = 0; i < d; ++i) o[i] = static_cast<float>(acc[i]);
    }
  });
}

}  // namespace cascade

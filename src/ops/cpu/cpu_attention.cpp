// Attention as tasks + merge (ops/attention_plan.h) on the CPU, in three passes:
// rotate each slot's query at (position - rope_delta), attend each (slot, head) over its
// task's pages with base-2 softmax, then merge every row's partial states through their LSE.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/cpu_rope.h"

namespace cascade {
namespace {

constexpr double kLog2e = 1.4426950408889634;
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

void check_plan(const AttentionPlan& plan, int64_t rows, int64_t num_pages, int64_t page_size) {
  check(plan.num_rows == rows, "attention: plan has " + std::to_string(plan.num_rows) +
                                   " query rows, q has " + std::to_string(rows));
  check(plan.page_size == page_size, "attention: plan page_size " + std::to_string(plan.page_size) +
                                         " differs from the cache's " + std::to_string(page_size));
  check(plan.merge_begin.size() == static_cast<size_t>(rows) + 1 &&
            plan.merge_slots.size() == plan.task_rows.size(),
        "attention: plan is not finalized");
  for (int t = 0; t < plan.num_tasks(); ++t) {
    const int32_t pages = plan.page_begin[t + 1] - plan.page_begin[t];
    check(plan.kv_len[t] >= 0 && static_cast<int64_t>(pages) * page_size >= plan.kv_len[t],
          "attention: task " + std::to_string(t) + " has fewer pages than KV tokens");
  }
  for (int32_t page : plan.task_pages) {
    check(0 <= page && page < num_pages, "attention: page " + std::to_string(page) +
                                             " outside the cache's " + std::to_string(num_pages) +
                                             " pages");
  }
  for (int32_t row : plan.task_rows) {
    check(0 <= row && row < rows, "attention: task row " + std::to_string(row) + " out of range");
  }
}

float dot(const float* a, const float* b, int64_t n) {
  // Four partial sums so the compiler can vectorise without reassociating.
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

// q: [rows, hq, d] f32 (un-rotated); positions: [rows] i32; cache.k, cache.v:
// [pages, page_size, hkv, d] f32; out: [rows, hq, d] f32.
void CpuBackend::attention(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                           const AttentionPlan& plan, const RopeParams& rope, Tensor& out) {
  expect_tensor(q, DType::F32, 3, "attention", "q");
  expect_tensor(positions, DType::I32, 1, "attention", "positions");
  expect_tensor(cache.k, DType::F32, 4, "attention", "cache.k");
  expect_tensor(cache.v, DType::F32, 4, "attention", "cache.v");
  expect_tensor(out, DType::F32, 3, "attention", "out");
  const int64_t rows = q.dim(0), hq = q.dim(1), d = q.dim(2);
  const int64_t page_size = cache.k.dim(1), hkv = cache.k.dim(2);
  check(out.shape == q.shape,
        "attention: out " + shape_string(out.shape) + " must match q " + shape_string(q.shape));
  check(cache.v.shape == cache.k.shape && cache.k.dim(3) == d,
        "attention: cache k " + shape_string(cache.k.shape) + " and v " +
            shape_string(cache.v.shape) + " must both be [pages, page_size, kv_heads, " +
            std::to_string(d) + "]");
  check(hkv > 0 && hq % hkv == 0, "attention: " + std::to_string(hq) +
                                      " query heads are not a multiple of " + std::to_string(hkv) +
                                      " kv heads");
  check(positions.dim(0) == rows, "attention: positions must have one entry per q row");
  check(rope.head_dim == d, "attention: rope head_dim " + std::to_string(rope.head_dim) +
                                " differs from the head size " + std::to_string(d));
  check_plan(plan, rows, cache.k.dim(0), page_size);

  const int64_t num_slots = plan.num_slots(), group = hq / hkv, kv_stride = hkv * d;
  const int32_t* pos = positions.as<int32_t>();
  const float* k_cache = cache.k.as<float>();
  const float* v_cache = cache.v.as<float>();
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
      const float* src = q.as<float>() + row * hq * d;
      float* dst = rotated_q_.data() + s * hq * d;
      for (int64_t i = 0; i < hq * d; ++i) dst[i] = src[i];
      for (int64_t h = 0; h < hq; ++h)
        rope_rotate(dst + h * d, cos.data(), sin.data(), table.half());
    }
  });

  // Pass 2: one partial state (o, lse) per (slot, head).
  const double scale = kLog2e / std::sqrt(static_cast<double>(d));
  pool_.parallel_for(num_slots * hq, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> scores, acc(static_cast<size_t>(d));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t s = unit / hq, h = unit % hq, kv_head = h / group;
      const int t = slot_task[s];
      const int64_t query_pos = pos[plan.task_rows[s]];
      int64_t visible = plan.kv_len[t];
      if (plan.causal[t]) {
        visible = std::clamp<int64_t>(query_pos - plan.kv_pos0[t] + 1, 0, visible);
      }
      float* o = partial_o_.data() + unit * d;
      if (visible == 0) {  // nothing to attend to: contributes nothing to the merge
        for (int64_t i = 0; i < d; ++i) o[i] = 0;
        partial_lse_[unit] = kMinusInf;
        continue;
      }
      const int32_t* pages = plan.task_pages.data() + plan.page_begin[t];
      const auto kv_offset = [&](int64_t j) {
        return (pages[j / page_size] * page_size + j % page_size) * kv_stride + kv_head * d;
      };
      const float* qs = rotated_q_.data() + unit * d;
      scores.resize(static_cast<size_t>(visible));
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < visible; ++j) {
        scores[j] = static_cast<double>(dot(qs, k_cache + kv_offset(j), d)) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      double sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        const double p = std::exp2(scores[j] - max_score);
        sum += p;
        const float* v = v_cache + kv_offset(j);
        for (int64_t i = 0; i < d; ++i) acc[i] += p * v[i];
      }
      for (int64_t i = 0; i < d; ++i) o[i] = static_cast<float>(acc[i] / sum);
      partial_lse_[unit] = static_cast<float>(max_score + std::log2(sum));
    }
  });

  // Pass 3: s = log2(sum_i 2^s_i), o = sum_i 2^(s_i - s) o_i over each row's slots.
  float* result = out.as<float>();
  pool_.parallel_for(rows * hq, 4, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(d));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t r = unit / hq, h = unit % hq;
      const int32_t first = plan.merge_begin[r], last = plan.merge_begin[r + 1];
      float max_lse = kMinusInf;
      for (int32_t m = first; m < last; ++m) {
        max_lse = std::max(max_lse, partial_lse_[plan.merge_slots[m] * hq + h]);
      }
      float* o = result + unit * d;
      std::fill(acc.begin(), acc.end(), 0.0);
      if (max_lse != kMinusInf) {
        double total = 0;
        for (int32_t m = first; m < last; ++m) {
          total +=
              std::exp2(static_cast<double>(partial_lse_[plan.merge_slots[m] * hq + h]) - max_lse);
        }
        const double lse = max_lse + std::log2(total);
        for (int32_t m = first; m < last; ++m) {
          const int64_t slot_unit = plan.merge_slots[m] * hq + h;
          const double w = std::exp2(static_cast<double>(partial_lse_[slot_unit]) - lse);
          const float* po = partial_o_.data() + slot_unit * d;
          for (int64_t i = 0; i < d; ++i) acc[i] += w * po[i];
        }
      }
      for (int64_t i = 0; i < d; ++i) o[i] = static_cast<float>(acc[i]);
    }
  });
}

}  // namespace cascade

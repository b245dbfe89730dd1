// Argument checks of the Backend ops, shared by every backend: a wrong dtype or shape is an
// Error naming the op and the argument. `dtype` is the checking backend's compute dtype.
// Header-only, so that backends in their own libraries (cuda/) need no link to this one.
#pragma once

#include <string>

#include "base/error.h"
#include "ops/backend.h"

namespace cascade {

inline void expect_tensor(const Tensor& t, DType dtype, int rank, const char* op, const char* arg) {
  const auto where = [&] { return std::string(op) + ": argument '" + arg + "'"; };
  check(t.defined(), [&] { return where() + " is undefined"; });
  check(t.dtype == dtype, [&] {
    return where() + " must be " + std::string(dtype_name(dtype)) + ", got " +
           std::string(dtype_name(t.dtype));
  });
  check(t.rank() == rank, [&] {
    return where() + " must have rank " + std::to_string(rank) + ", got shape " +
           shape_string(t.shape);
  });
}

// ids: [rows] i32; table: [vocab, hidden]; out: [rows, hidden].
inline void check_embedding_args(const Tensor& ids, const Tensor& table, const Tensor& out,
                                 DType dtype) {
  expect_tensor(ids, DType::I32, 1, "embedding", "ids");
  expect_tensor(table, dtype, 2, "embedding", "table");
  expect_tensor(out, dtype, 2, "embedding", "out");
  const int64_t rows = ids.dim(0), hidden = table.dim(1);
  check(out.dim(0) == rows && out.dim(1) == hidden, [&] {
    return "embedding: out " + shape_string(out.shape) + " must be [" + std::to_string(rows) +
           ", " + std::to_string(hidden) + "]";
  });
}

// x, out: [rows, dim]; weight: [dim].
inline void check_rms_norm_args(const Tensor& x, const Tensor& weight, const Tensor& out,
                                DType dtype) {
  expect_tensor(x, dtype, 2, "rms_norm", "x");
  expect_tensor(weight, dtype, 1, "rms_norm", "weight");
  expect_tensor(out, dtype, 2, "rms_norm", "out");
  check(weight.dim(0) == x.dim(1) && out.shape == x.shape, [&] {
    return "rms_norm: shapes x " + shape_string(x.shape) + ", weight " +
           shape_string(weight.shape) + ", out " + shape_string(out.shape) + " do not match";
  });
}

// x: [rows, in]; w: [out, in]; bias: [out] or undefined; out: [rows, out] of `out_dtype`.
inline void check_linear_args(const Tensor& x, const Tensor& w, const Tensor& bias,
                              const Tensor& out, DType dtype, DType out_dtype) {
  expect_tensor(x, dtype, 2, "linear", "x");
  expect_tensor(w, dtype, 2, "linear", "w");
  expect_tensor(out, out_dtype, 2, "linear", "out");
  const int64_t rows = x.dim(0), in = x.dim(1), n_out = w.dim(0);
  check(w.dim(1) == in && out.dim(0) == rows && out.dim(1) == n_out, [&] {
    return "linear: shapes x " + shape_string(x.shape) + ", w " + shape_string(w.shape) + ", out " +
           shape_string(out.shape) + " do not match";
  });
  if (bias.defined()) {
    expect_tensor(bias, dtype, 1, "linear", "bias");
    check(bias.dim(0) == n_out, [&] {
      return "linear: bias " + shape_string(bias.shape) + " must be [" + std::to_string(n_out) +
             "]";
    });
  }
  check(in > 0 && n_out > 0, [&] { return "linear: empty weight " + shape_string(w.shape); });
}

// acc, x: the same shape.
inline void check_add_args(const Tensor& acc, const Tensor& x, DType dtype) {
  check(acc.dtype == dtype && x.dtype == dtype && acc.shape == x.shape, [&] {
    return "add_inplace: acc " + shape_string(acc.shape) + " and x " + shape_string(x.shape) +
           " must be " + std::string(dtype_name(dtype)) + " of the same shape";
  });
}

// gate_up: [rows, 2n] (gate | up); out: [rows, n].
inline void check_silu_mul_args(const Tensor& gate_up, const Tensor& out, DType dtype) {
  expect_tensor(gate_up, dtype, 2, "silu_mul", "gate_up");
  expect_tensor(out, dtype, 2, "silu_mul", "out");
  check(out.dim(0) == gate_up.dim(0) && gate_up.dim(1) == 2 * out.dim(1), [&] {
    return "silu_mul: gate_up " + shape_string(gate_up.shape) + " must be out " +
           shape_string(out.shape) + " with twice the columns";
  });
}

inline void check_rope_head_dim(const RopeParams& rope, int64_t d, const char* op) {
  check(rope.head_dim == d, [&] {
    return std::string(op) + ": rope head_dim " + std::to_string(rope.head_dim) +
           " differs from the head size " + std::to_string(d);
  });
}

inline void check_cache(const KvLayer& cache, int64_t d, DType dtype, const char* op) {
  expect_tensor(cache.k, dtype, 4, op, "cache.k");
  expect_tensor(cache.v, dtype, 4, op, "cache.v");
  check(cache.v.shape == cache.k.shape && cache.k.dim(3) == d, [&] {
    return std::string(op) + ": cache k " + shape_string(cache.k.shape) + " and v " +
           shape_string(cache.v.shape) + " must both be [pages, page_size, kv_heads, " +
           std::to_string(d) + "]";
  });
}

// qkv: [rows, (hq + 2·hkv)·d]; q_norm, k_norm: [d] or both undefined; positions, slots:
// [rows] i32; q: [rows, hq, d]; cache: [pages, page_size, hkv, d].
inline void check_qkv_store_args(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm,
                                 const Tensor& positions, const Tensor& slots,
                                 const RopeParams& rope, const Tensor& q, const KvLayer& cache,
                                 DType dtype) {
  expect_tensor(qkv, dtype, 2, "qkv_store", "qkv");
  expect_tensor(q, dtype, 3, "qkv_store", "q");
  expect_tensor(positions, DType::I32, 1, "qkv_store", "positions");
  expect_tensor(slots, DType::I32, 1, "qkv_store", "slots");
  const int64_t rows = qkv.dim(0), hq = q.dim(1), d = q.dim(2);
  check_cache(cache, d, dtype, "qkv_store");
  const int64_t hkv = cache.k.dim(2);
  check(q.dim(0) == rows && qkv.dim(1) == (hq + 2 * hkv) * d, [&] {
    return "qkv_store: qkv " + shape_string(qkv.shape) + " does not split into q " +
           shape_string(q.shape) + " and " + std::to_string(hkv) + " kv heads";
  });
  check(positions.dim(0) == rows && slots.dim(0) == rows,
        "qkv_store: positions and slots must have one entry per qkv row");
  check_rope_head_dim(rope, d, "qkv_store");
  check(q_norm.defined() == k_norm.defined(), "qkv_store: give both q_norm and k_norm, or none");
  if (q_norm.defined()) {
    check(q_norm.dtype == dtype && k_norm.dtype == dtype && q_norm.numel() == d &&
              k_norm.numel() == d,
          [&] {
            return "qkv_store: q_norm and k_norm must have head_dim elements of " +
                   std::string(dtype_name(dtype));
          });
  }
}

// q, out: [rows, hq, d]; positions: [rows] i32; cache: [pages, page_size, hkv, d].
inline void check_attention_args(const Tensor& q, const Tensor& positions, const KvLayer& cache,
                                 const RopeParams& rope, const Tensor& out, DType dtype) {
  expect_tensor(q, dtype, 3, "attention", "q");
  expect_tensor(positions, DType::I32, 1, "attention", "positions");
  expect_tensor(out, dtype, 3, "attention", "out");
  const int64_t hq = q.dim(1), d = q.dim(2);
  check_cache(cache, d, dtype, "attention");
  const int64_t hkv = cache.k.dim(2);
  check(out.shape == q.shape, [&] {
    return "attention: out " + shape_string(out.shape) + " must match q " + shape_string(q.shape);
  });
  check(hkv > 0 && hq % hkv == 0, [&] {
    return "attention: " + std::to_string(hq) + " query heads are not a multiple of " +
           std::to_string(hkv) + " kv heads";
  });
  check(positions.dim(0) == q.dim(0), "attention: positions must have one entry per q row");
  check_rope_head_dim(rope, d, "attention");
}

// dst is an i32 tensor with room for `count` elements.
inline void check_write_i32(size_t count, const Tensor& dst) {
  check(dst.defined() && dst.dtype == DType::I32, "write_i32: destination must be an i32 tensor");
  check(static_cast<int64_t>(count) <= dst.numel(), [&] {
    return "write_i32: " + std::to_string(count) + " values do not fit " + shape_string(dst.shape);
  });
}

// The plan fits q's rows and the cache's pages, and is finalized.
inline void check_attention_plan(const AttentionPlan& plan, int64_t rows, int64_t num_pages,
                                 int64_t page_size) {
  // q may have more rows than the plan: padding of a fixed-size step (CUDA graphs).
  check(0 <= plan.num_rows && plan.num_rows <= rows, [&] {
    return "attention: plan has " + std::to_string(plan.num_rows) + " query rows, q has " +
           std::to_string(rows);
  });
  check(plan.page_size == page_size, [&] {
    return "attention: plan page_size " + std::to_string(plan.page_size) +
           " differs from the cache's " + std::to_string(page_size);
  });
  check(plan.merge_begin.size() == static_cast<size_t>(plan.num_rows) + 1 &&
            plan.merge_slots.size() == plan.task_rows.size() &&
            plan.row_begin.size() == static_cast<size_t>(plan.num_tasks()) + 1 &&
            plan.page_begin.size() == static_cast<size_t>(plan.num_tasks()) + 1,
        "attention: plan is not finalized");
  for (int t = 0; t < plan.num_tasks(); ++t) {
    const int32_t pages = plan.page_begin[t + 1] - plan.page_begin[t];
    check(plan.kv_len[t] >= 0 && static_cast<int64_t>(pages) * page_size >= plan.kv_len[t], [&] {
      return "attention: task " + std::to_string(t) + " has fewer pages than KV tokens";
    });
  }
  for (int32_t page : plan.task_pages) {
    check(0 <= page && page < num_pages, [&] {
      return "attention: page " + std::to_string(page) + " outside the cache's " +
             std::to_string(num_pages) + " pages";
    });
  }
  for (int32_t row : plan.task_rows) {
    check(0 <= row && row < plan.num_rows,
          [&] { return "attention: task row " + std::to_string(row) + " out of range"; });
  }
}

}  // namespace cascade

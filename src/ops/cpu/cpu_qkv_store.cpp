#include <cstring>
#include <vector>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/cpu_norm.h"
#include "ops/cpu/cpu_rope.h"

namespace cascade {

// qkv: [rows, (hq + 2·hkv)·d] f32; q_norm, k_norm: [d] f32 or undefined; positions, slots:
// [rows] i32; q: [rows, hq, d] f32 (out, un-rotated); cache.k, cache.v:
// [pages, page_size, hkv, d] f32.
void CpuBackend::qkv_store(const Tensor& qkv, const Tensor& q_norm, const Tensor& k_norm, float eps,
                           const Tensor& positions, const Tensor& slots, const RopeParams& rope,
                           Tensor& q, KvLayer& cache) {
  expect_tensor(qkv, DType::F32, 2, "qkv_store", "qkv");
  expect_tensor(q, DType::F32, 3, "qkv_store", "q");
  expect_tensor(positions, DType::I32, 1, "qkv_store", "positions");
  expect_tensor(slots, DType::I32, 1, "qkv_store", "slots");
  expect_tensor(cache.k, DType::F32, 4, "qkv_store", "cache.k");
  expect_tensor(cache.v, DType::F32, 4, "qkv_store", "cache.v");
  const int64_t rows = qkv.dim(0), hq = q.dim(1), d = q.dim(2);
  const int64_t hkv = cache.k.dim(2);
  const int64_t num_slots = cache.k.dim(0) * cache.k.dim(1);
  check(cache.v.shape == cache.k.shape && cache.k.dim(3) == d,
        "qkv_store: cache k " + shape_string(cache.k.shape) + " and v " +
            shape_string(cache.v.shape) + " must both be [pages, page_size, kv_heads, " +
            std::to_string(d) + "]");
  check(q.dim(0) == rows && qkv.dim(1) == (hq + 2 * hkv) * d,
        "qkv_store: qkv " + shape_string(qkv.shape) + " does not split into q " +
            shape_string(q.shape) + " and " + std::to_string(hkv) + " kv heads");
  check(positions.dim(0) == rows && slots.dim(0) == rows,
        "qkv_store: positions and slots must have one entry per qkv row");
  check(rope.head_dim == d, "qkv_store: rope head_dim " + std::to_string(rope.head_dim) +
                                " differs from the head size " + std::to_string(d));
  check(q_norm.defined() == k_norm.defined(), "qkv_store: give both q_norm and k_norm, or none");
  if (q_norm.defined()) {
    check(q_norm.numel() == d && k_norm.numel() == d,
          "qkv_store: q_norm and k_norm must have head_dim elements");
  }
  const int32_t* slot = slots.as<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    check(0 <= slot[r] && slot[r] < num_slots, "qkv_store: slot " + std::to_string(slot[r]) +
                                                   " outside the cache's " +
                                                   std::to_string(num_slots) + " slots");
  }

  const RopeTable table(rope);
  const int32_t* pos = positions.as<int32_t>();
  const float* src = qkv.as<float>();
  float* q_out = q.as<float>();
  float* k_cache = cache.k.as<float>();
  float* v_cache = cache.v.as<float>();
  const float* qn = q_norm.defined() ? q_norm.as<float>() : nullptr;
  const float* kn = k_norm.defined() ? k_norm.as<float>() : nullptr;
  const int64_t row_size = qkv.dim(1), kv_size = hkv * d;
  const auto bytes = [](int64_t n) { return static_cast<size_t>(n) * sizeof(float); };

  pool_.parallel_for(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> cos(static_cast<size_t>(d / 2)), sin(static_cast<size_t>(d / 2));
    for (int64_t r = begin; r < end; ++r) {
      const float* row = src + r * row_size;
      float* q_row = q_out + r * hq * d;
      std::memcpy(q_row, row, bytes(hq * d));
      if (qn) {
        for (int64_t h = 0; h < hq; ++h) rms_norm_row(q_row + h * d, qn, d, eps, q_row + h * d);
      }
      float* k_row = k_cache + slot[r] * kv_size;
      std::memcpy(k_row, row + hq * d, bytes(kv_size));
      std::memcpy(v_cache + slot[r] * kv_size, row + hq * d + kv_size, bytes(kv_size));
      table.cos_sin(pos[r], cos.data(), sin.data());
      for (int64_t h = 0; h < hkv; ++h) {
        float* k_head = k_row + h * d;
        if (kn) rms_norm_row(k_head, kn, d, eps, k_head);
        rope_rotate(k_head, cos.data(), sin.data(), table.half());
      }
    }
  });
}

}  // namespace cascade

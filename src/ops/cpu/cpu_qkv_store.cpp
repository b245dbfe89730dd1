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
  check_qkv_store_args(qkv, q_norm, k_norm, positions, slots, rope, q, cache, DType::F32);
  const int64_t rows = qkv.dim(0), hq = q.dim(1), d = q.dim(2);
  const int64_t hkv = cache.k.dim(2);
  const int64_t num_slots = cache.k.dim(0) * cache.k.dim(1);
  const int32_t* slot = slots.as<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    check(0 <= slot[r] && slot[r] < num_slots, [&] {
      return "qkv_store: slot " + std::to_string(slot[r]) + " outside the cache's " +
             std::to_string(num_slots) + " slots";
    });
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

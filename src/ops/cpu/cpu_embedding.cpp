#include <cstring>

#include "base/error.h"
#include "ops/cpu/cpu_backend.h"

namespace cascade {

// ids: [rows] i32; table: [vocab, hidden] f32; out: [rows, hidden] f32.
void CpuBackend::embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
  check_embedding_args(ids, table, out, DType::F32);
  const int64_t rows = ids.dim(0), vocab = table.dim(0), hidden = table.dim(1);
  const int32_t* id = ids.as<int32_t>();
  for (int64_t r = 0; r < rows; ++r) {
    check(0 <= id[r] && id[r] < vocab, [&] {
      return "embedding: id " + std::to_string(id[r]) + " outside the table's " +
             std::to_string(vocab) + " rows";
    });
  }
  const float* t = table.as<float>();
  float* o = out.as<float>();
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(o + r * hidden, t + id[r] * hidden, static_cast<size_t>(hidden) * sizeof(float));
  }
}

}  // namespace cascade

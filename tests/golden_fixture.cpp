#include "golden_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "model/safetensors.h"
#include "test_paths.h"

namespace cascade::test {

Golden load_golden(const std::string& name, int vocab) {
  Golden g;
  const auto json = nlohmann::json::parse(read_text_file(fixture("golden/" + name + ".json")));
  g.prompts = json.at("prompts").get<std::vector<std::vector<int32_t>>>();
  g.greedy = json.at("greedy").get<std::vector<std::vector<int32_t>>>();
  g.logits = load_logits(fixture("golden/" + name + "-logits.safetensors"), g.prompts, vocab);
  return g;
}

std::vector<std::vector<float>> load_logits(const std::string& path,
                                            const std::vector<std::vector<int32_t>>& prompts,
                                            int vocab) {
  std::vector<std::vector<float>> out;
  const auto file = SafetensorsModel::open_file(path);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const TensorRecord& r = file.get("logits." + std::to_string(i));
    EXPECT_EQ(r.dtype, DType::F32) << path;
    EXPECT_EQ(r.shape, (Shape{static_cast<int64_t>(prompts[i].size()), vocab})) << path;
    std::vector<float> logits(r.nbytes / sizeof(float));
    std::memcpy(logits.data(), r.data, r.nbytes);
    out.push_back(std::move(logits));
  }
  return out;
}

double max_relative_error(const std::vector<float>& ours, const std::vector<float>& hf, int vocab) {
  double worst = 0;
  for (size_t row = 0; row * vocab < hf.size(); ++row) {
    double diff = 0, scale = 0;
    for (size_t k = row * vocab; k < (row + 1) * vocab; ++k) {
      if (!std::isfinite(ours[k])) return INFINITY;  // NaN would drop out of std::max
      diff = std::max(diff, std::fabs(double(ours[k]) - hf[k]));
      scale = std::max(scale, std::fabs(double(hf[k])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

}  // namespace cascade::test

// The Hugging Face transformers references of the tiny fixtures (tools/make_fixtures.py):
// prompts, fp32 logits at every position, and 32 greedy tokens per prompt.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cascade::test {

struct Golden {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> greedy;
  std::vector<std::vector<float>> logits;  // [len(prompt i) · vocab]
};

// tests/fixtures/golden/NAME.json and NAME-logits.safetensors (gtest failures on shapes).
Golden load_golden(const std::string& name, int vocab);

// logits.<i>: [len(prompts[i]), vocab] f32 of a safetensors file (gtest failures on shapes).
std::vector<std::vector<float>> load_logits(const std::string& path,
                                            const std::vector<std::vector<int32_t>>& prompts,
                                            int vocab);

// max over positions of (max over vocab |ours - hf| / max over vocab |hf|).
double max_relative_error(const std::vector<float>& ours, const std::vector<float>& hf, int vocab);

}  // namespace cascade::test

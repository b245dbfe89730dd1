#include "model/architecture.h"

#include <array>

#include "base/error.h"

namespace cascade {

static constexpr std::array<ArchitectureSpec, 2> kArchitectures = {{
    {Architecture::Qwen3, "Qwen3ForCausalLM", "qwen3", /*qk_norm=*/true, /*qkv_bias=*/false,
     /*reads_attention_bias=*/true},
    {Architecture::Qwen2, "Qwen2ForCausalLM", "qwen2", /*qk_norm=*/false, /*qkv_bias=*/true,
     /*reads_attention_bias=*/false},
}};

const ArchitectureSpec* find_architecture(std::string_view hf_name) {
  for (const auto& spec : kArchitectures) {
    if (spec.hf_name == hf_name) return &spec;
  }
  return nullptr;
}

const ArchitectureSpec& architecture_spec(Architecture id) {
  for (const auto& spec : kArchitectures) {
    if (spec.id == id) return spec;
  }
  throw Error("unknown architecture id " + std::to_string(static_cast<int>(id)));
}

std::string supported_architectures() {
  std::string names;
  for (const auto& spec : kArchitectures) {
    if (!names.empty()) names += ", ";
    names += spec.hf_name;
  }
  return names;
}

}  // namespace cascade

// The models the benchmark scenarios run on: random bf16 weights in a named geometry,
// written at run time into a cache folder with a synthetic byte-level tokenizer (256 byte
// tokens, placeholder tokens up to the vocabulary, Qwen's special tokens), so that no
// downloaded file is needed. Scenarios feed token ids, so the tokenizer only decodes.
#pragma once

#include <string>
#include <vector>

#include "model/model_config.h"

namespace cascade {

// geometry_preset's names plus "cascade-tiny" (the shape of models/cascade-tiny-qwen3) and
// "tiny" (2 layers, hidden 64, vocab 10,240: smoke runs); Error for other names.
ModelConfig bench_geometry(const std::string& name);
std::vector<std::string> bench_geometry_names();

// `cache_dir`/`name`-random-bench, written when absent (written in a temporary folder and
// renamed, so an interrupted write is never reused). Returns the folder.
std::string random_bench_model(const std::string& name, const std::string& cache_dir);

// tokenizer.json text for `config`'s vocabulary (see above).
std::string synthetic_tokenizer_json(const ModelConfig& config);

}  // namespace cascade

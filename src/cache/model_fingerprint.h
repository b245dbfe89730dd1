// A model's identity, the first input of every chunk key: KV computed by one checkpoint
// must never be served to another. SHA-256 over "cascade-model-v1", config.json, and for
// each safetensors file (in name order) its name, size, header, and 64 KiB samples of its
// data every 64 MiB plus its last 64 KiB. Sampling keeps start-up cheap for large
// checkpoints; two trainings differ everywhere, so samples tell them apart (a checkpoint
// edited in a single unsampled byte would not be told apart: documented, accepted).
#pragma once

#include <string>

#include "cache/chunk_key.h"

namespace cascade {

ChunkKey model_fingerprint(const std::string& model_dir);

}  // namespace cascade

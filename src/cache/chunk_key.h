// Content address of a context chunk. A chunk's KV depends on the model, on everything
// before it (its parent chain) and on its own tokens, so all three go into its key:
// SHA-256 over a fixed byte layout that other implementations (bindings, tools) can
// reproduce exactly:
//   "cascade-chunk-v1" (16 bytes) ‖ model fingerprint (32) ‖ has-parent byte (0 or 1)
//   ‖ parent key (32; zeros when there is none) ‖ token count (u64 LE) ‖ tokens (i32 LE each)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace cascade {

using ChunkKey = std::array<uint8_t, 32>;

// SHA-256 of `bytes` (OpenSSL EVP).
ChunkKey sha256(std::span<const uint8_t> bytes);

// `parent` null: the chunk starts the prompt (no parent chain).
ChunkKey make_chunk_key(const ChunkKey& model_fingerprint, const ChunkKey* parent,
                        std::span<const int32_t> tokens);

// 64 lowercase hex digits.
std::string to_hex(const ChunkKey& key);

// For unordered containers: the key is already a uniform hash, so its first bytes serve.
struct ChunkKeyHash {
  size_t operator()(const ChunkKey& key) const noexcept;
};

}  // namespace cascade

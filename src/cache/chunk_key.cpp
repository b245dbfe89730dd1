#include "cache/chunk_key.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace cascade {
namespace {

constexpr std::string_view kDomainTag = "cascade-chunk-v1";

// Streams bytes into one SHA-256; every OpenSSL return code is checked.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    check(ctx_ != nullptr, "sha256: OpenSSL EVP_MD_CTX_new failed");
    check(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1,
          "sha256: OpenSSL EVP_DigestInit_ex failed");
  }
  void update(const void* data, size_t size) {
    check(EVP_DigestUpdate(ctx_.get(), data, size) == 1, "sha256: OpenSSL EVP_DigestUpdate failed");
  }
  ChunkKey finish() {
    ChunkKey out{};
    unsigned int size = 0;
    check(EVP_DigestFinal_ex(ctx_.get(), out.data(), &size) == 1 && size == out.size(),
          "sha256: OpenSSL EVP_DigestFinal_ex failed");
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

void put_le(uint8_t* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

ChunkKey sha256(std::span<const uint8_t> bytes) {
  Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.finish();
}

ChunkKey make_chunk_key(const ChunkKey& model_fingerprint, const ChunkKey* parent,
                        std::span<const int32_t> tokens) {
  Sha256 hash;
  hash.update(kDomainTag.data(), kDomainTag.size());
  hash.update(model_fingerprint.data(), model_fingerprint.size());
  const uint8_t has_parent = parent ? 1 : 0;
  hash.update(&has_parent, 1);
  const ChunkKey no_parent{};
  const ChunkKey& parent_key = parent ? *parent : no_parent;
  hash.update(parent_key.data(), parent_key.size());
  uint8_t count[8];
  put_le(count, tokens.size(), 8);
  hash.update(count, sizeof(count));
  // Tokens are encoded explicitly little-endian, a block at a time, so the key does not
  // depend on the host's byte order.
  constexpr size_t kBlock = 1024;
  std::vector<uint8_t> block(kBlock * 4);
  for (size_t start = 0; start < tokens.size(); start += kBlock) {
    const size_t n = std::min(kBlock, tokens.size() - start);
    for (size_t i = 0; i < n; ++i)
      put_le(block.data() + 4 * i, static_cast<uint32_t>(tokens[start + i]), 4);
    hash.update(block.data(), 4 * n);
  }
  return hash.finish();
}

std::string to_hex(const ChunkKey& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * key.size(), '0');
  for (size_t i = 0; i < key.size(); ++i) {
    out[2 * i] = kDigits[key[i] >> 4];
    out[2 * i + 1] = kDigits[key[i] & 15];
  }
  return out;
}

size_t ChunkKeyHash::operator()(const ChunkKey& key) const noexcept {
  size_t h = 0;
  std::memcpy(&h, key.data(), sizeof(h));
  return h;
}

}  // namespace cascade

#include "cache/chunk_key.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace cascade {
namespace {

std::string sha256_hex(std::string_view text) {
  return to_hex(sha256({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
}

ChunkKey fingerprint() {
  ChunkKey fp{};
  std::iota(fp.begin(), fp.end(), uint8_t{0});  // bytes 0..31
  return fp;
}

TEST(ChunkKey, Sha256MatchesFips180TestVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Golden keys computed independently with Python's hashlib over the documented layout
// (b"cascade-chunk-v1" + fp + flag + parent-or-zeros + struct.pack("<Q", n) + "<i" each).
TEST(ChunkKey, MatchesTheDocumentedByteLayout) {
  const std::vector<int32_t> tokens = {0, 1, -1, 151643, 2147483647};
  ChunkKey parent{};
  parent.fill(0xab);
  EXPECT_EQ(to_hex(make_chunk_key(fingerprint(), nullptr, tokens)),
            "a7cfcf552961125ff0a60c57f16fceec82b837cd1407591c8f3c294d6e93c903");
  EXPECT_EQ(to_hex(make_chunk_key(fingerprint(), &parent, tokens)),
            "a42b96d0151ee5656f4a48601c34e13724048214883071a69e69c70eeb1d6113");
  EXPECT_EQ(to_hex(make_chunk_key(fingerprint(), nullptr, {})),
            "b4891baf7a415f266d6a45b3a3fecb681250fe49bd1e6e04109dd2f620925880");
  std::vector<int32_t> long_tokens(3000);  // crosses the encoder's block boundaries
  std::iota(long_tokens.begin(), long_tokens.end(), 0);
  EXPECT_EQ(to_hex(make_chunk_key(fingerprint(), nullptr, long_tokens)),
            "cdf139985bda190be077968eba51888a439efffc4ca71312989d85c9cc0d8cc6");
}

TEST(ChunkKey, SameInputsGiveTheSameKey) {
  const std::vector<int32_t> tokens = {5, 6, 7};
  const ChunkKey parent = make_chunk_key(fingerprint(), nullptr, std::vector<int32_t>{1});
  EXPECT_EQ(make_chunk_key(fingerprint(), &parent, tokens),
            make_chunk_key(fingerprint(), &parent, std::vector<int32_t>{5, 6, 7}));
}

TEST(ChunkKey, EveryInputChangesTheKey) {
  const std::vector<int32_t> tokens = {5, 6, 7};
  const ChunkKey fp = fingerprint();
  ChunkKey other_fp = fp;
  other_fp[31] ^= 1;
  const ChunkKey parent = make_chunk_key(fp, nullptr, std::vector<int32_t>{1});
  const ChunkKey other_parent = make_chunk_key(fp, nullptr, std::vector<int32_t>{2});
  const ChunkKey zero_parent{};  // same bytes as "no parent": only the flag tells them apart

  std::vector<ChunkKey> keys = {
      make_chunk_key(fp, &parent, tokens),
      make_chunk_key(other_fp, &parent, tokens),
      make_chunk_key(fp, &other_parent, tokens),
      make_chunk_key(fp, nullptr, tokens),
      make_chunk_key(fp, &zero_parent, tokens),
      make_chunk_key(fp, &parent, std::vector<int32_t>{7, 6, 5}),  // order
      make_chunk_key(fp, &parent, std::vector<int32_t>{5, 6, 8}),  // one token
      make_chunk_key(fp, &parent, std::vector<int32_t>{5, 6}),     // length
  };
  std::unordered_set<ChunkKey, ChunkKeyHash> distinct(keys.begin(), keys.end());
  EXPECT_EQ(distinct.size(), keys.size());
}

TEST(ChunkKey, HexIsLowercaseAndFull) {
  ChunkKey key{};
  key[0] = 0x0f;
  key[31] = 0xa0;
  EXPECT_EQ(to_hex(key), "0f" + std::string(60, '0') + "a0");
}

}  // namespace
}  // namespace cascade

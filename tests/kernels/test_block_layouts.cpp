// Pins the bit layout of every block format: blocks assembled byte by byte in the test decode
// to values given by per-element formulas written here from ggml's format description (not by
// calling the implementation's helpers), plus literal spot checks computed by hand. Scales are
// powers of two and levels small integers, so every expected value is exact in float32.
#include "kernel_test_util.h"

#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <cstring>

namespace smoe {
namespace {

constexpr uint16_t kHalfOne = 0x3C00;        // 1.0
constexpr uint16_t kHalfHalf = 0x3800;       // 0.5
constexpr uint16_t kHalfQuarter = 0x3400;    // 0.25
constexpr uint16_t kHalfEighth = 0x3000;     // 0.125
constexpr uint16_t kHalfMinusOne = 0xBC00;   // -1.0
constexpr uint16_t kHalfMinusTwo = 0xC000;   // -2.0

void put_u16(std::vector<uint8_t>& b, size_t offset, uint16_t v) {
  b[offset] = static_cast<uint8_t>(v & 0xFF);
  b[offset + 1] = static_cast<uint8_t>(v >> 8);
}

std::vector<float> decode(GgmlType type, const std::vector<uint8_t>& block) {
  const int64_t n = type_info(type).block_size * static_cast<int64_t>(block.size() / type_info(type).block_bytes);
  return test::dequantize(type, block, n);
}

TEST(BlockLayout, F32F16BF16) {
  std::vector<uint8_t> f32(8);
  const float a = 1.5f, b = -3.25e-3f;
  std::memcpy(f32.data(), &a, 4);
  std::memcpy(f32.data() + 4, &b, 4);
  EXPECT_EQ(test::dequantize(GgmlType::F32, f32, 2), (std::vector<float>{1.5f, -3.25e-3f}));

  std::vector<uint8_t> f16(6);
  put_u16(f16, 0, 0x3E00);  // 1.5
  put_u16(f16, 2, 0xC100);  // -2.5
  put_u16(f16, 4, 0x0001);  // 2^-24, the smallest subnormal
  EXPECT_EQ(test::dequantize(GgmlType::F16, f16, 3), (std::vector<float>{1.5f, -2.5f, 0x1p-24f}));

  std::vector<uint8_t> bf16(4);
  put_u16(bf16, 0, 0x3FC0);  // 1.5
  put_u16(bf16, 2, 0xC2F7);  // -123.5
  EXPECT_EQ(test::dequantize(GgmlType::BF16, bf16, 2), (std::vector<float>{1.5f, -123.5f}));
}

TEST(BlockLayout, Q4_0) {
  std::vector<uint8_t> block(18);
  put_u16(block, 0, kHalfHalf);
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto v = decode(GgmlType::Q4_0, block);
  for (int i = 0; i < 32; ++i) {
    const int q = i < 16 ? i : 15 - (i - 16);  // low nibbles: elements 0..15, high: 16..31
    EXPECT_EQ(v[i], (q - 8) * 0.5f) << i;
  }
  EXPECT_EQ(v[0], -4.0f);
  EXPECT_EQ(v[16], 3.5f);
}

TEST(BlockLayout, Q4_1) {
  std::vector<uint8_t> block(20);
  put_u16(block, 0, kHalfQuarter);
  put_u16(block, 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) block[4 + j] = static_cast<uint8_t>(((3 * j) & 15) | (j << 4));
  const auto v = decode(GgmlType::Q4_1, block);
  for (int i = 0; i < 32; ++i) {
    const int q = i < 16 ? (3 * i) & 15 : i - 16;
    EXPECT_EQ(v[i], q * 0.25f - 1.0f) << i;
  }
  EXPECT_EQ(v[31], 2.75f);
}

TEST(BlockLayout, Q5_0) {
  std::vector<uint8_t> block(22);
  put_u16(block, 0, kHalfMinusTwo);
  const uint32_t qh = 0xA5C3F00Fu;
  std::memcpy(block.data() + 2, &qh, 4);  // little-endian u32
  const auto nibbles = test::random_bytes(16, 5);
  for (int j = 0; j < 16; ++j) block[6 + j] = nibbles[j];
  const auto v = decode(GgmlType::Q5_0, block);
  for (int i = 0; i < 32; ++i) {
    const int low = i < 16 ? nibbles[i] & 15 : nibbles[i - 16] >> 4;
    const int q = low | static_cast<int>(((qh >> i) & 1) << 4);
    EXPECT_EQ(v[i], (q - 16) * -2.0f) << i;
  }
  // Element 0: bit 0 of qh is 1 -> q = 16 + low nibble.
  EXPECT_EQ(v[0], -2.0f * (nibbles[0] & 15));
}

TEST(BlockLayout, Q5_1) {
  std::vector<uint8_t> block(24);
  put_u16(block, 0, kHalfEighth);
  put_u16(block, 2, kHalfOne);
  const uint8_t qh_bytes[4] = {0x01, 0x80, 0x00, 0xFF};  // bits 0, 15, 24..31
  std::memcpy(block.data() + 4, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) block[8 + j] = 0xF0 | static_cast<uint8_t>(j);
  const auto v = decode(GgmlType::Q5_1, block);
  EXPECT_EQ(v[0], (0 + 16) * 0.125f + 1.0f);
  EXPECT_EQ(v[1], 1 * 0.125f + 1.0f);
  EXPECT_EQ(v[15], (15 + 16) * 0.125f + 1.0f);
  EXPECT_EQ(v[16], 15 * 0.125f + 1.0f);
  EXPECT_EQ(v[24], (15 + 16) * 0.125f + 1.0f);
}

TEST(BlockLayout, Q8_0) {
  std::vector<uint8_t> block(34);
  put_u16(block, 0, kHalfEighth);
  for (int j = 0; j < 32; ++j) block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 8 - 128));
  const auto v = decode(GgmlType::Q8_0, block);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(v[i], (i * 8 - 128) * 0.125f) << i;
  EXPECT_EQ(v[0], -16.0f);
}

// Q2_K: scales[16] | qs[64] | d | dmin.
TEST(BlockLayout, Q2_K) {
  std::vector<uint8_t> block(84);
  const auto scales = test::random_bytes(16, 21);
  const auto qs = test::random_bytes(64, 22);
  std::memcpy(block.data(), scales.data(), 16);
  std::memcpy(block.data() + 16, qs.data(), 64);
  put_u16(block, 80, kHalfHalf);
  put_u16(block, 82, kHalfQuarter);
  const auto v = decode(GgmlType::Q2_K, block);
  for (int i = 0; i < 256; ++i) {
    const int q = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    const int sc = scales[i / 16] & 15, m = scales[i / 16] >> 4;
    EXPECT_EQ(v[i], 0.5f * sc * q - 0.25f * m) << i;
  }
  // Hand check: element 200 = half 1, bit pair 2 ((200 - 128) / 32), byte 32 + 8, group 12.
  const int q200 = (qs[40] >> 4) & 3;
  EXPECT_EQ(v[200], 0.5f * (scales[12] & 15) * q200 - 0.25f * (scales[12] >> 4));
}

// Q3_K: hmask[32] | qs[64] | scales[12] | d. Scales are 6-bit values s[g], stored minus 32.
TEST(BlockLayout, Q3_K) {
  std::vector<uint8_t> block(110);
  const auto hmask = test::random_bytes(32, 31);
  const auto qs = test::random_bytes(64, 32);
  int s[16];
  for (int g = 0; g < 16; ++g) s[g] = (g * 23 + 5) % 64;
  uint8_t packed[12] = {};
  for (int g = 0; g < 16; ++g) {
    if (g < 8) packed[g] |= static_cast<uint8_t>(s[g] & 15);
    else packed[g - 8] |= static_cast<uint8_t>((s[g] & 15) << 4);
    packed[8 + g % 4] |= static_cast<uint8_t>((s[g] >> 4) << (2 * (g / 4)));
  }
  std::memcpy(block.data(), hmask.data(), 32);
  std::memcpy(block.data() + 32, qs.data(), 64);
  std::memcpy(block.data() + 96, packed, 12);
  put_u16(block, 108, kHalfQuarter);
  const auto v = decode(GgmlType::Q3_K, block);
  for (int i = 0; i < 256; ++i) {
    const int low = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    const bool high = (hmask[i % 32] >> (i / 32)) & 1;
    const int q = low - (high ? 0 : 4);
    EXPECT_EQ(v[i], 0.25f * (s[i / 16] - 32) * q) << i;
  }
  // Literal: all scales bytes 0 -> every group scale is -32; hmask all set, qs 0xE4 = levels
  // 0,1,2,3 for the four bit pairs -> elements 0, 32, 64, 96 are 0, -8, -16, -24 (d = 0.25).
  std::vector<uint8_t> lit(110, 0);
  std::fill(lit.begin(), lit.begin() + 32, 0xFF);
  std::fill(lit.begin() + 32, lit.begin() + 96, 0xE4);
  put_u16(lit, 108, kHalfQuarter);
  const auto w = decode(GgmlType::Q3_K, lit);
  EXPECT_EQ(w[0], 0.0f);
  EXPECT_EQ(w[32], -8.0f);
  EXPECT_EQ(w[64], -16.0f);
  EXPECT_EQ(w[96], -24.0f);
  // Clearing hmask bit 0 of byte 0 shifts element 0 down by 4 levels: (0 - 4) * -32 * 0.25.
  lit[0] = 0xFE;
  EXPECT_EQ(decode(GgmlType::Q3_K, lit)[0], 32.0f);
}

// The 12 scale bytes of Q4_K / Q5_K for 6-bit scales sc[8] and mins m[8].
void pack_k4_scales(const int* sc, const int* m, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    out[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

// Q4_K: d | dmin | scales[12] | qs[128].
TEST(BlockLayout, Q4_K) {
  std::vector<uint8_t> block(144);
  const int sc[8] = {1, 63, 17, 32, 19, 48, 5, 60};
  const int m[8] = {5, 0, 33, 62, 2, 31, 40, 16};
  put_u16(block, 0, kHalfOne);
  put_u16(block, 2, kHalfHalf);
  pack_k4_scales(sc, m, block.data() + 4);
  const auto qs = test::random_bytes(128, 41);
  std::memcpy(block.data() + 16, qs.data(), 128);
  const auto v = decode(GgmlType::Q4_K, block);
  for (int i = 0; i < 256; ++i) {
    const int q = (qs[32 * (i / 64) + i % 32] >> (4 * ((i / 32) % 2))) & 15;
    EXPECT_EQ(v[i], 1.0f * sc[i / 32] * q - 0.5f * m[i / 32]) << i;
  }
  // Literal: byte 0 = 0x41 (sc0 = 1, top bits of sc4 = 01), byte 4 = 0x05 (m0 = 5),
  // byte 8 = 0x23 (sc4 low = 3, m4 low = 2) -> sc4 = 19, m4 = 2.
  EXPECT_EQ(block[4 + 0], 0x41);
  EXPECT_EQ(block[4 + 4], 0x05);
  EXPECT_EQ(block[4 + 8], 0x23);
  block[16 + 64] = 0x07;  // element 128 (group 4, low nibble of qs[64]) = 7
  block[16 + 0] = 0xA3;   // element 0 = 3 (group 0), element 32 = 10 (group 1: sc 63, m 0)
  const auto w = decode(GgmlType::Q4_K, block);
  EXPECT_EQ(w[128], 19.0f * 7 - 0.5f * 2);  // 132
  EXPECT_EQ(w[0], 1.0f * 3 - 0.5f * 5);     // 0.5
  EXPECT_EQ(w[32], 63.0f * 10);             // 630
}

// Q5_K: d | dmin | scales[12] | qh[32] | qs[128].
TEST(BlockLayout, Q5_K) {
  std::vector<uint8_t> block(176);
  const int sc[8] = {63, 1, 2, 40, 17, 33, 8, 50};
  const int m[8] = {0, 12, 63, 7, 31, 32, 1, 45};
  put_u16(block, 0, kHalfQuarter);
  put_u16(block, 2, kHalfEighth);
  pack_k4_scales(sc, m, block.data() + 4);
  const auto qh = test::random_bytes(32, 51);
  const auto qs = test::random_bytes(128, 52);
  std::memcpy(block.data() + 16, qh.data(), 32);
  std::memcpy(block.data() + 48, qs.data(), 128);
  const auto v = decode(GgmlType::Q5_K, block);
  for (int i = 0; i < 256; ++i) {
    const int low = (qs[32 * (i / 64) + i % 32] >> (4 * ((i / 32) % 2))) & 15;
    const int q = low | (((qh[i % 32] >> (i / 32)) & 1) << 4);
    EXPECT_EQ(v[i], 0.25f * sc[i / 32] * q - 0.125f * m[i / 32]) << i;
  }
}

// Q6_K: ql[128] | qh[64] | scales[16] (int8) | d.
TEST(BlockLayout, Q6_K) {
  std::vector<uint8_t> block(210);
  const auto ql = test::random_bytes(128, 61);
  const auto qh = test::random_bytes(64, 62);
  const auto scales = test::random_bytes(16, 63);
  std::memcpy(block.data(), ql.data(), 128);
  std::memcpy(block.data() + 128, qh.data(), 64);
  std::memcpy(block.data() + 192, scales.data(), 16);
  put_u16(block, 208, kHalfEighth);
  const auto v = decode(GgmlType::Q6_K, block);
  for (int i = 0; i < 256; ++i) {
    const int half = i / 128, k = (i % 128) / 32, l = i % 32;
    const int low = (ql[64 * half + 32 * (k % 2) + l] >> (4 * (k / 2))) & 15;
    const int high = (qh[32 * half + l] >> (2 * k)) & 3;
    const int q = (low | (high << 4)) - 32;
    EXPECT_EQ(v[i], 0.125f * static_cast<int8_t>(scales[i / 16]) * q) << i;
  }
  // Literal: element 100 = half 0, k = 3, l = 4: high nibble of ql[36], bits 6..7 of qh[4].
  std::vector<uint8_t> lit(210, 0);
  lit[36] = 0x90;                               // low bits 9
  lit[128 + 4] = 0x80;                          // high bits 2 -> q = 9 + 32 - 32 = 9
  lit[192 + 6] = static_cast<uint8_t>(-3);      // group 100 / 16 = 6
  put_u16(lit, 208, kHalfHalf);
  const auto w = decode(GgmlType::Q6_K, lit);
  EXPECT_EQ(w[100], 0.5f * -3 * 9);
  EXPECT_EQ(w[101], 0.5f * -3 * -32);  // all-zero bits mean level -32
}

}  // namespace
}  // namespace smoe

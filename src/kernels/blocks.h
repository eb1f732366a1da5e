// The packed block formats of ggml's quantized types, bit for bit as GGUF files store them
// (ggml-common.h). Every 16-bit scale is an IEEE half (see fp16.h); multi-byte fields are
// little-endian, as on every machine smoe runs on. Element i of a block is the i-th value of
// the row segment the block covers; the comments give which bits hold it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace smoe {

inline constexpr int kBlockValues = 32;        // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0
inline constexpr int kSuperBlockValues = 256;  // QK_K: the K-quants' super-block
inline constexpr int kKScaleBytes = 12;        // K_SCALE_SIZE: 8 x (6-bit scale, 6-bit min)

// Q4_0: value = (q - 8) * d, q in 0..15.
struct BlockQ4_0 {
  uint16_t d;                        // half: scale
  uint8_t qs[kBlockValues / 2];      // byte j: low nibble = q of element j, high = element j+16
};

// Q4_1: value = q * d + m, q in 0..15.
struct BlockQ4_1 {
  uint16_t d;                        // half: scale
  uint16_t m;                        // half: offset (the block minimum)
  uint8_t qs[kBlockValues / 2];      // as Q4_0: low nibbles = elements 0..15, high = 16..31
};

// Q5_0: value = (q - 16) * d, q in 0..31 = low nibble | fifth bit << 4.
struct BlockQ5_0 {
  uint16_t d;                        // half: scale
  uint8_t qh[4];                     // little-endian u32: bit i = fifth bit of element i
  uint8_t qs[kBlockValues / 2];      // low 4 bits, nibbles as Q4_0
};

// Q5_1: value = q * d + m, q in 0..31 (bits as Q5_0).
struct BlockQ5_1 {
  uint16_t d;                        // half: scale
  uint16_t m;                        // half: offset
  uint8_t qh[4];                     // little-endian u32: bit i = fifth bit of element i
  uint8_t qs[kBlockValues / 2];      // low 4 bits, nibbles as Q4_0
};

// Q8_0: value = q * d.
struct BlockQ8_0 {
  uint16_t d;                        // half: scale
  int8_t qs[kBlockValues];           // q of element i
};

// Q2_K: 16 groups of 16; value = d * (sc & 15) * q - dmin * (sc >> 4), q in 0..3, where sc is
// the byte of group i / 16. Element i (n = i / 128, j = (i % 128) / 32): q = bits 2j..2j+1 of
// qs[32 n + i % 32].
struct BlockQ2_K {
  uint8_t scales[kSuperBlockValues / 16];  // group g: low nibble = scale, high nibble = min
  uint8_t qs[kSuperBlockValues / 4];       // 2-bit quants, four per byte (layout above)
  uint16_t d;                              // half: super-block scale of the scales
  uint16_t dmin;                           // half: super-block scale of the mins
};

// Q3_K: 16 groups of 16; value = d * (s - 32) * (q - 4 * !hbit), q in 0..3 as in Q2_K, where s
// is the 6-bit scale of group i / 16 and hbit = bit (i / 32) of hmask[i % 32].
struct BlockQ3_K {
  uint8_t hmask[kSuperBlockValues / 8];  // the high bit: byte i % 32, bit i / 32 (set = no -4)
  uint8_t qs[kSuperBlockValues / 4];     // low 2 bits, packed as Q2_K's qs
  uint8_t scales[12];  // 16 x 6 bits: low nibbles in bytes 0..7 (group g < 8: low nibble of
                       // byte g, else high nibble of byte g - 8); the top 2 bits of group g are
                       // bits 2(g/4)..2(g/4)+1 of byte 8 + g % 4
  uint16_t d;          // half: super-block scale
};

// Q4_K: 8 groups of 32; value = d * sc * q - dmin * m, q in 0..15, (sc, m) = 6-bit pair of group
// i / 32 (q4k_scale_min). Element i: nibble (i / 32) % 2 of qs[32 (i / 64) + i % 32].
struct BlockQ4_K {
  uint16_t d;                       // half: super-block scale of the scales
  uint16_t dmin;                    // half: super-block scale of the mins
  uint8_t scales[kKScaleBytes];     // 8 x (6-bit scale, 6-bit min), see q4k_scale_min
  uint8_t qs[kSuperBlockValues / 2];  // 4-bit quants: each 32-byte run holds 64 elements
};

// Q5_K: Q4_K plus a fifth bit: q = nibble | (bit (i / 32) of qh[i % 32]) << 4, q in 0..31.
struct BlockQ5_K {
  uint16_t d;                         // half: super-block scale of the scales
  uint16_t dmin;                      // half: super-block scale of the mins
  uint8_t scales[kKScaleBytes];       // as Q4_K
  uint8_t qh[kSuperBlockValues / 8];  // fifth bits: byte i % 32, bit i / 32
  uint8_t qs[kSuperBlockValues / 2];  // low 4 bits, packed as Q4_K's qs
};

// Q6_K: 16 groups of 16; value = d * scales[i / 16] * (q - 32), q in 0..63. Within each half
// n = i / 128 (v = i % 128, k = v / 32, l = v % 32): low 4 bits = nibble k / 2 of
// ql[64 n + 32 (k % 2) + l], high 2 bits = bits 2k..2k+1 of qh[32 n + l].
struct BlockQ6_K {
  uint8_t ql[kSuperBlockValues / 2];      // low 4 bits (layout above)
  uint8_t qh[kSuperBlockValues / 4];      // high 2 bits (layout above)
  int8_t scales[kSuperBlockValues / 16];  // signed 8-bit scale of each group of 16
  uint16_t d;                             // half: super-block scale
};

// ggml_type.cpp's block_bytes, which in turn are ggml's: a mismatch would misread every file.
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

// The 6-bit scale and min of group j (0..7) of a Q4_K / Q5_K block (ggml's get_scale_min_k4):
// groups 0..3 are the low 6 bits of bytes j (scale) and j + 4 (min); groups 4..7 take their low
// 4 bits from the nibbles of byte j + 4 and their top 2 bits from the spare top bits of bytes
// j - 4 (scale) and j (min).
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};
inline ScaleMin q4k_scale_min(int j, const uint8_t* scales) {
  if (j < 4) return {static_cast<uint8_t>(scales[j] & 63), static_cast<uint8_t>(scales[j + 4] & 63)};
  return {static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4)),
          static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4))};
}

// The 6-bit scale (0..63, before the -32 offset) of group j (0..15) of a Q3_K block.
inline int q3k_scale(int j, const uint8_t* scales) {
  const int low = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// Block i of a row that may start at any address (a test's misaligned buffer, a GGUF with an odd
// general.alignment), copied out: reading a block's 16-bit fields through a misaligned pointer is
// undefined behaviour (UBSan: misaligned address).
template <typename Block>
inline Block load_block(const void* row, int64_t i) {
  Block block;
  std::memcpy(&block, static_cast<const uint8_t*>(row) + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return block;
}

}  // namespace smoe

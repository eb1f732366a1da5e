// Exact scalar conversions between float32 and the two 16-bit float formats of GGUF files:
// IEEE 754 binary16 ("F16", ggml_fp16_t) and bfloat16 ("BF16", the upper half of a float32).
// Widening is exact for every pattern; narrowing rounds to nearest, ties to even, as ggml's
// GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16 do (fp32_to_fp16 equals ggml's portable conversion on
// all 2^32 inputs, NaNs included). Integer bit manipulation, plus one exact int -> float product
// for half subnormals, so the results do not depend on the FPU's rounding mode.
#pragma once

#include <bit>
#include <cstdint>

namespace smoe {

// binary16 -> float32, exact for every pattern (subnormals normalized, inf kept, NaN payload
// kept and shifted up). Written with selects instead of branches so that loops over rows of
// halves vectorize.
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t magnitude = h & 0x7FFFu;
  // Normal, inf and NaN: move exponent and mantissa up and rebias the exponent by 127 - 15;
  // the all-ones exponent of inf / NaN needs another 128 - 16 to stay all ones.
  const uint32_t widened = (magnitude << 13) + ((127u - 15u) << 23) +
                           static_cast<uint32_t>(magnitude >= 0x7C00u) * ((128u - 16u) << 23);
  // Zero and subnormal: value = mantissa * 2^-24, exact in float32 (an int of at most 10 bits
  // times a power of two).
  const uint32_t subnormal =
      std::bit_cast<uint32_t>(static_cast<float>(static_cast<int32_t>(magnitude)) * 0x1p-24f);
  const uint32_t use_subnormal = 0u - static_cast<uint32_t>(magnitude < 0x400u);  // all ones or 0
  return std::bit_cast<float>(sign | (subnormal & use_subnormal) | (widened & ~use_subnormal));
}

// float32 -> binary16, round to nearest even; overflow gives inf; NaN gives ggml's quiet NaN
// 0x7E00 with the sign kept (what ggml's portable GGML_FP32_TO_FP16 returns).
inline uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t magnitude = x & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return sign | 0x7E00u;  // NaN
  // 65504 (0x477FE000) is the largest half; from the midpoint to 65536 up, the value rounds to
  // inf (the tie goes to the even neighbour, which is inf since 65504's mantissa is odd).
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;
  if (magnitude >= 0x38800000u) {  // >= 2^-14: a normal half
    const uint32_t lowest_kept_bit = (magnitude >> 13) & 1u;
    magnitude += 0xFFFu + lowest_kept_bit;  // round to nearest even; a carry bumps the exponent
    return sign | static_cast<uint16_t>((magnitude - ((127u - 15u) << 23)) >> 13);
  }
  // A subnormal half (or zero): value / 2^-24 rounded to the nearest even integer. At or below
  // 2^-25 (the midpoint between 0 and the smallest subnormal) the result is zero.
  if (magnitude <= 0x33000000u) return sign;
  const uint32_t exponent = magnitude >> 23;                        // 102..112
  const uint32_t significand = (magnitude & 0x7FFFFFu) | 0x800000u;  // with the implicit 1
  const uint32_t shift = 126 - exponent;                             // 14..24
  uint32_t result = significand >> shift;
  const uint32_t remainder = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;  // may reach 0x400
  return sign | static_cast<uint16_t>(result);
}

// bfloat16 -> float32, exact.
inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// float32 -> bfloat16, round to nearest even; a NaN stays a NaN and is made quiet (ggml's rule).
inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 64u);
  return static_cast<uint16_t>((x + (0x7FFFu + ((x >> 16) & 1u))) >> 16);
}

}  // namespace smoe

// Exact scalar conversions between float32 and the two 16-bit float formats of GGUF files:
// IEEE 754 binary16 ("F16", ggml_fp16_t) and bfloat16 ("BF16", the upper half of a float32).
// Widening is exact for every pattern; narrowing rounds to nearest, ties to even, as ggml's
// GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16 do. Pure integer bit manipulation, so the results do not
// depend on the FPU's rounding mode or on denormals-are-zero settings.
#pragma once

#include <bit>
#include <cstdint>

namespace smoe {

// binary16 -> float32, exact (subnormals normalized, inf kept, NaN payload kept and shifted up).
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // inf or NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal: value = mantissa * 2^-24; renormalize around its highest set bit p (0..9),
    // giving 1.f * 2^(p-24), i.e. a float32 biased exponent of p - 24 + 127.
    const int p = 31 - std::countl_zero(mantissa);
    bits = sign | (static_cast<uint32_t>(p + 103) << 23) | ((mantissa << (23 - p)) & 0x7FFFFFu);
  }
  return std::bit_cast<float>(bits);
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

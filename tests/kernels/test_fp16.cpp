// Half and bfloat16 conversions: every 16-bit pattern widened against a reference built from
// the format definition (sign, exponent, mantissa -> ldexp), and narrowing checked for round-to-
// nearest-even against a reference that picks the nearer of the two neighbouring representable
// values in double precision, on all halves, all midpoints, and a sweep of float32 patterns.
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace smoe {
namespace {

// The value of a binary16 pattern from its definition (NaN returned as a quiet NaN).
double half_value(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
  double v;
  if (exponent == 31) v = mantissa ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  else if (exponent == 0) v = std::ldexp(mantissa, -24);
  else v = std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -v : v;
}

// Reference float -> half: the nearest half (ties to the even pattern), values at or beyond
// 65520 (halfway between 65504 and the would-be 65536) become inf.
uint16_t reference_to_half(float f) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(f));
  if (std::isnan(f)) return sign | 0x7E00;
  if (a >= 65520.0) return sign | 0x7C00;
  // Magnitudes of halves increase with their patterns: binary search the largest pattern <= a.
  uint16_t lo = 0, hi = 0x7BFF;
  while (lo < hi) {
    const uint16_t mid = static_cast<uint16_t>((lo + hi + 1) / 2);
    if (half_value(mid) <= a) lo = mid; else hi = static_cast<uint16_t>(mid - 1);
  }
  if (half_value(lo) == a || lo == 0x7BFF) return sign | lo;  // (0x7BFF: below 65520 here)
  const double below = a - half_value(lo), above = half_value(lo + 1) - a;
  const uint16_t nearest = below < above ? lo : above < below ? lo + 1 : ((lo & 1) ? lo + 1 : lo);
  return sign | nearest;
}

uint16_t reference_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if (std::isnan(f)) return static_cast<uint16_t>((x >> 16) | 0x40);
  const uint32_t down = x & 0xFFFF0000u;
  const double a = std::fabs(static_cast<double>(f));
  const double low = std::fabs(static_cast<double>(std::bit_cast<float>(down)));
  // The next bfloat16 up in magnitude; past the largest finite one it is inf, which rounding
  // treats as 2^128.
  const uint32_t up = down + 0x10000u;
  const double high = (up & 0x7FFFFFFFu) == 0x7F800000u ? std::ldexp(1.0, 128)
                                                        : std::fabs(static_cast<double>(std::bit_cast<float>(up)));
  if (std::isinf(f)) return static_cast<uint16_t>(x >> 16);
  const double below = a - low, above = high - a;
  const uint32_t pick = below < above ? down : above < below ? up : (((down >> 16) & 1) ? up : down);
  return static_cast<uint16_t>(pick >> 16);
}

TEST(Fp16, WideningIsExactForEveryPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    const double expected = half_value(static_cast<uint16_t>(h));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      // The payload moves up to the top of the float mantissa.
      ASSERT_EQ(std::bit_cast<uint32_t>(f), ((h & 0x8000u) << 16) | 0x7F800000u | ((h & 0x3FFu) << 13));
    } else {
      ASSERT_EQ(static_cast<double>(f), expected) << std::hex << h;
      ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;
    }
  }
}

TEST(Fp16, NarrowingRoundTripsEveryHalf) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h)));
    if (std::isnan(half_value(static_cast<uint16_t>(h))))
      ASSERT_EQ(back, (h & 0x8000) | 0x7E00) << std::hex << h;
    else
      ASSERT_EQ(back, h) << std::hex << h;
  }
}

TEST(Fp16, NarrowingRoundsMidpointsToEven) {
  for (uint16_t h = 0; h < 0x7BFF; ++h) {  // every pair of neighbouring finite halves
    for (uint16_t sign : {uint16_t{0}, uint16_t{0x8000}}) {
      const double mid = (half_value(h) + half_value(h + 1)) / 2;  // exact in float32
      const float f = static_cast<float>(sign ? -mid : mid);
      const uint16_t even = (h & 1) ? h + 1 : h;
      ASSERT_EQ(fp32_to_fp16(f), sign | even) << std::hex << h;
      // One float32 ulp either side goes to the nearer neighbour.
      const float above = std::nextafter(f, sign ? -INFINITY : INFINITY);
      const float below = std::nextafter(f, 0.0f);
      ASSERT_EQ(fp32_to_fp16(above), sign | (h + 1)) << std::hex << h;
      ASSERT_EQ(fp32_to_fp16(below), sign | h) << std::hex << h;
    }
  }
}

TEST(Fp16, NarrowingMatchesReferenceOnFloatSweep) {
  // Every float pattern whose low 10 bits are one of a few values (so every exponent, every
  // rounding-relevant high mantissa bit, exact ties and near-ties), plus specials.
  for (uint32_t high = 0; high < (1u << 22); ++high) {
    for (uint32_t low : {0u, 1u, 0x1FFu, 0x200u, 0x3FFu}) {
      const uint32_t bits = (high << 10) | low;
      const float f = std::bit_cast<float>(bits);
      if (std::isnan(f)) {
        ASSERT_EQ(fp32_to_fp16(f), (bits & 0x80000000u ? 0x8000 : 0) | 0x7E00);
        continue;
      }
      const float a = std::fabs(f);
      // The reference's binary search is slow; check it on the interesting ranges and a sample.
      if (a < 0x1p-26f || a > 70000.0f) {
        if ((high & 0xFF) != 0) continue;
      } else if ((high & 7) != 0 && low != 0) {
        continue;
      }
      ASSERT_EQ(fp32_to_fp16(f), reference_to_half(f)) << std::hex << bits;
    }
  }
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65519.99f), 0x7BFF);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-INFINITY), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);                      // tie with 0 -> even (0)
  EXPECT_EQ(fp32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(0x1.8p-24f), 0x0002);                    // 1.5 ulp -> even (2)
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
}

TEST(Bf16, WideningIsExactForEveryPattern) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(std::bit_cast<uint32_t>(f), h << 16) << std::hex << h;
  }
}

TEST(Bf16, NarrowingRoundTripsEveryPatternAndQuietsNaNs) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_fp32(static_cast<uint16_t>(h));
    const uint16_t back = fp32_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_EQ(back, h | 0x40) << std::hex << h;
      ASSERT_TRUE(std::isnan(bf16_to_fp32(back)));
    } else {
      ASSERT_EQ(back, h) << std::hex << h;
    }
  }
}

TEST(Bf16, NarrowingMatchesReferenceOnFloatSweep) {
  // Low 16 bits decide the rounding: all patterns of them for a spread of high halves, and a few
  // low patterns (tie, tie +- 1, zero, max) for every high half.
  for (uint32_t high = 0; high <= 0xFFFF; ++high) {
    for (uint32_t low : {0u, 1u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu}) {
      const float f = std::bit_cast<float>((high << 16) | low);
      ASSERT_EQ(fp32_to_bf16(f), reference_to_bf16(f)) << std::hex << ((high << 16) | low);
    }
    if (high % 251 == 0) {
      for (uint32_t low = 0; low <= 0xFFFF; ++low) {
        const float f = std::bit_cast<float>((high << 16) | low);
        ASSERT_EQ(fp32_to_bf16(f), reference_to_bf16(f)) << std::hex << ((high << 16) | low);
      }
    }
  }
}

}  // namespace
}  // namespace smoe

// The reference quantizers: round-trip error per type on Gaussian data of several lengths, exact
// behaviour on special inputs (zeros, values already on the grid), and idempotence where ggml's
// quantizers have it.
#include "kernel_test_util.h"

#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/kernels.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>

namespace smoe {
namespace {

using test::computable_types;
using test::type_label;

// Upper bounds on the relative RMSE (sqrt(sum err^2 / sum x^2)) of quantize -> dequantize on
// N(0, 1) data. Measured, worst over the lengths below (a single block is the worst case for the
// 32-value types):
//   F32 0        F16 2.1e-4   BF16 1.75e-3  Q8_0 6.6e-3   Q6_K 1.83e-2  Q5_1 4.8e-2
//   Q5_K 3.7e-2  Q5_0 5.2e-2  Q4_K 7.3e-2   Q4_0 9.4e-2   Q4_1 9.8e-2   Q3_K 1.54e-1
//   Q2_K 3.08e-1
// The quantizers produce the same bytes as llama.cpp's quantize_row_*_ref (checked during
// development on 1M values of four distributions for the K-quants, and on the micro golden model
// for Q4_0 / Q8_0 / F16 / BF16), so these are llama.cpp's figures too. Bounds: ~20% margin.
const std::map<GgmlType, double> kMaxRelativeRmse = {
    {GgmlType::F32, 0.0},      {GgmlType::F16, 3e-4},    {GgmlType::BF16, 2.5e-3},
    {GgmlType::Q8_0, 8e-3},    {GgmlType::Q6_K, 2.2e-2}, {GgmlType::Q5_1, 6e-2},
    {GgmlType::Q5_K, 4.5e-2},  {GgmlType::Q5_0, 6.5e-2}, {GgmlType::Q4_K, 9e-2},
    {GgmlType::Q4_0, 1.15e-1}, {GgmlType::Q4_1, 1.2e-1}, {GgmlType::Q3_K, 1.85e-1},
    {GgmlType::Q2_K, 3.6e-1},
};

// One block, several blocks, an odd number of blocks, a long row.
std::vector<int64_t> lengths(GgmlType type) {
  const int64_t block = type_info(type).block_size;
  if (block == 1) return {1, 31, 256, 4097};
  return {block, 4 * block, 7 * block, (block == 32 ? 129 : 17) * block};
}

TEST(Quantize, RoundTripErrorWithinBounds) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    double worst = 0;
    for (int64_t n : lengths(type)) {
      const auto x = test::gaussian(static_cast<size_t>(n), 1000 + static_cast<uint32_t>(n));
      const auto y = test::dequantize(type, test::quantize(type, x), n);
      const double err = test::relative_rmse(x, y);
      EXPECT_LE(err, kMaxRelativeRmse.at(type)) << "n = " << n;
      worst = std::max(worst, err);
    }
    std::printf("  round-trip relative RMSE %-5s %.3g\n", type_label(type).c_str(), worst);
  }
}

// Scale invariance in practice: weights of a real model are ~0.02, not ~1; the relative error
// must not depend on that (half-precision scales have range enough).
TEST(Quantize, SmallMagnitudesKeepTheirRelativeError) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    const int64_t n = 8 * 256;
    const auto x = test::gaussian(static_cast<size_t>(n), 77, 0.02f);
    const auto y = test::dequantize(type, test::quantize(type, x), n);
    EXPECT_LE(test::relative_rmse(x, y), kMaxRelativeRmse.at(type));
  }
}

TEST(Quantize, ZerosStayZeros) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    const int64_t n = 2 * 256;
    const std::vector<float> x(static_cast<size_t>(n), 0.0f);
    const auto y = test::dequantize(type, test::quantize(type, x), n);
    for (float v : y) ASSERT_EQ(v, 0.0f);
  }
}

TEST(Quantize, BlocksWithZeroGroupsStayFinite) {
  // Half of each 16-value group zero, and whole zero groups next to large ones: the searches
  // must not divide by zero.
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    auto x = test::gaussian(512, 9);
    for (size_t i = 0; i < x.size(); ++i)
      if ((i / 8) % 2 == 0 || (i >= 64 && i < 128)) x[i] = 0.0f;
    const auto y = test::dequantize(type, test::quantize(type, x), 512);
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << i;
      if (i >= 64 && i < 128 && type != GgmlType::Q4_1 && type != GgmlType::Q5_1) {
        EXPECT_EQ(y[i], 0.0f) << i;  // symmetric grids and K-quant mins keep exact zeros
      }
    }
    EXPECT_LE(test::relative_rmse(x, y), 1.5 * kMaxRelativeRmse.at(type));
  }
}

// Fingerprints of llama.cpp's quantize_row_*_ref output for portable_values(256 * 24, 2024),
// obtained by compiling ggml-quants.c's reference quantizers as llama.cpp builds them (ggml-base,
// no -march flags, hence no FMA contraction) on the same input. A mismatch means the quantizer
// no longer writes the bytes llama.cpp writes (the data plants zero, constant and outlier blocks,
// so the degenerate branches of the searches are covered too).
TEST(Quantize, BytesMatchLlamaCppReferenceQuantizers) {
  const std::map<GgmlType, uint64_t> kLlamaCppFingerprints = {
      {GgmlType::Q4_0, 0xebd970e347c934a0ull}, {GgmlType::Q4_1, 0xeb402ef8ad2f198dull},
      {GgmlType::Q5_0, 0x0e005a4805214033ull}, {GgmlType::Q5_1, 0x2ab3b818ca275abaull},
      {GgmlType::Q8_0, 0x8ede50b407a6fcdfull}, {GgmlType::Q2_K, 0x7fa1abb6ac22f873ull},
      {GgmlType::Q3_K, 0x0df90386269d2e25ull}, {GgmlType::Q4_K, 0xc9f6b4521ebc05daull},
      {GgmlType::Q5_K, 0xc0abb0834acebfc7ull}, {GgmlType::Q6_K, 0xada031f7dee79c77ull},
  };
  const auto x = test::portable_values(256 * 24, 2024);
  for (const auto& [type, fingerprint] : kLlamaCppFingerprints) {
    SCOPED_TRACE(type_label(type));
    EXPECT_EQ(test::fnv1a(test::quantize(type, x)), fingerprint);
  }
}

// ggml's Q8_0 and Q4_0 quantizers reproduce a block that is already on their grid.
TEST(Quantize, Q8_0AndQ4_0AreIdempotent) {
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    SCOPED_TRACE(type_label(type));
    for (uint32_t seed = 0; seed < 20; ++seed) {
      const int64_t n = 32 * 64;
      const auto q = test::quantize(type, test::gaussian(static_cast<size_t>(n), seed, 0.05f));
      const auto again = test::quantize(type, test::dequantize(type, q, n));
      ASSERT_EQ(q, again) << "seed " << seed;
    }
  }
}

// The byte-exact output of the simple quantizers on a hand-computed block (the rounding rules
// of llama.cpp's *_ref functions).
TEST(Quantize, Q8_0AndQ4_0HandComputedBlocks) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) * 0.25f;  // -4 .. 3.75
  {
    // Q8_0: d = 4 / 127, q = round(x * 127 / 4), halves away from zero.
    const auto q = test::quantize(GgmlType::Q8_0, x);
    BlockQ8_0 b;
    std::memcpy(&b, q.data(), sizeof(b));
    EXPECT_EQ(b.d, fp32_to_fp16(4.0f / 127));
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(b.qs[i], static_cast<int8_t>(std::round(x[i] * (1.0f / (4.0f / 127))))) << i;
    EXPECT_EQ(b.qs[0], -127);
    EXPECT_EQ(b.qs[16], 0);
  }
  {
    // Q4_0: the largest magnitude is -4 -> d = -4 / -8 = 0.5, q = trunc(x / 0.5 + 8.5) clamped
    // to 15: -4 -> 0, 3.75 -> 15 (7.5 + 8.5 = 16, clamped).
    const auto q = test::quantize(GgmlType::Q4_0, x);
    BlockQ4_0 b;
    std::memcpy(&b, q.data(), sizeof(b));
    EXPECT_EQ(b.d, 0x3800);  // 0.5
    EXPECT_EQ(b.qs[0] & 15, 0);
    EXPECT_EQ(b.qs[15] >> 4, 15);
    EXPECT_EQ(b.qs[1] & 15, 1);  // x = -3.75: -7.5 + 8.5 = 1.0 -> 1 (halves round up)
    EXPECT_EQ(b.qs[2] & 15, 1);  // x = -3.5: -7 + 8.5 = 1.5 -> 1
    EXPECT_EQ(b.qs[2] >> 4, 9);  // element 18, x = 0.5: 1 + 8.5 = 9.5 -> 9
  }
}

}  // namespace
}  // namespace smoe

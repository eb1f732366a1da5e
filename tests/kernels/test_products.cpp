// dot_row, matvec and matmat of every type: dot_row agrees exactly with the float dot of the
// dequantized row (and closely with a double-precision sum), and matvec / matmat reproduce
// dot_row bit for bit for every row and token (what "prefill equals incremental decode" needs).
#include "kernel_test_util.h"

#include "core/error.h"
#include "kernels/kernels.h"
#include "kernels/vec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>

namespace smoe {
namespace {

using test::computable_types;
using test::type_label;

// A matrix of n_rows rows of n_cols values: quantized Gaussian rows with varied magnitudes.
std::vector<uint8_t> random_matrix(GgmlType type, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  const size_t stride = row_bytes(type, n_cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto values = test::gaussian(static_cast<size_t>(n_cols), seed + static_cast<uint32_t>(r),
                                       0.02f * static_cast<float>(1 + r % 7));
    reference_kernels(type).quantize_row(values.data(), w.data() + static_cast<size_t>(r) * stride,
                                         n_cols);
  }
  return w;
}

std::vector<int64_t> row_lengths(GgmlType type) {
  const int64_t block = type_info(type).block_size;
  if (block == 1) return {1, 7, 16, 33, 256, 300, 1000, 4096};  // tails and several chunks
  if (block == 32) return {32, 64, 96, 256, 288, 32 * 37, 4096};
  return {256, 512, 768, 256 * 5, 4096};
}

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

TEST(Products, DotRowEqualsDotOfDequantizedRow) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    const TypeKernels& k = reference_kernels(type);
    for (int64_t n : row_lengths(type)) {
      SCOPED_TRACE(n);
      const auto w = test::quantize(type, test::gaussian(static_cast<size_t>(n), 11 + n));
      const auto x = test::gaussian(static_cast<size_t>(n), 1234 + n);
      const auto deq = test::dequantize(type, w, n);
      const float dot = k.dot_row(w.data(), x.data(), n);
      // Same summation order: exactly equal, not just close.
      EXPECT_EQ(bits(dot), bits(dot_f32(deq.data(), x.data(), n)));
      double exact = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        exact += static_cast<double>(deq[i]) * x[i];
        magnitude += std::fabs(static_cast<double>(deq[i]) * x[i]);
      }
      EXPECT_LE(std::fabs(dot - exact), 1e-5 * magnitude) << dot << " vs " << exact;
    }
  }
}

TEST(Products, DotF32PiecewiseEqualsWhole) {
  const auto a = test::gaussian(1000, 1);
  const auto b = test::gaussian(1000, 2);
  DotAccumulator acc;
  acc.add(a.data(), b.data(), 256);
  acc.add(a.data() + 256, b.data() + 256, 512);
  const float piecewise = acc.finish(a.data() + 768, b.data() + 768, 1000 - 768);
  EXPECT_EQ(bits(piecewise), bits(dot_f32(a.data(), b.data(), 1000)));
  EXPECT_EQ(dot_f32(a.data(), b.data(), 0), 0.0f);
  EXPECT_EQ(dot_f32(a.data(), b.data(), 1), a[0] * b[0]);
}

TEST(Products, MatvecAndMatmatMatchDotRowBitForBit) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    const TypeKernels& k = kernels_for(type);
    const int64_t block = type_info(type).block_size;
    // Small (serial) and large enough to take the OpenMP path, with ragged row counts.
    const std::vector<std::pair<int64_t, int64_t>> shapes = {
        {1, block == 1 ? 5 : block}, {3, 2 * std::max<int64_t>(block, 32)}, {37, 3 * 256},
        {301, block == 1 ? 517 : 512}};
    for (auto [n_rows, n_cols] : shapes) {
      SCOPED_TRACE(testing::Message() << n_rows << " x " << n_cols);
      const auto w = random_matrix(type, n_rows, n_cols, 77);
      const size_t stride = row_bytes(type, n_cols);
      for (int64_t n_tokens = 1; n_tokens <= 5; ++n_tokens) {
        const auto x = test::gaussian(static_cast<size_t>(n_cols * n_tokens), 500 + n_tokens);
        std::vector<float> y_mat(static_cast<size_t>(n_rows * n_tokens), -1.0f);
        matmat(type, w.data(), n_rows, n_cols, x.data(), n_tokens, y_mat.data());
        for (int64_t t = 0; t < n_tokens; ++t) {
          const float* xt = x.data() + t * n_cols;
          std::vector<float> y_vec(static_cast<size_t>(n_rows), -1.0f);
          matvec(type, w.data(), n_rows, n_cols, xt, y_vec.data());
          for (int64_t r = 0; r < n_rows; ++r) {
            const float expected = k.dot_row(w.data() + static_cast<size_t>(r) * stride, xt, n_cols);
            ASSERT_EQ(bits(y_vec[r]), bits(expected)) << "matvec row " << r << " token " << t;
            ASSERT_EQ(bits(y_mat[t * n_rows + r]), bits(expected))
                << "matmat row " << r << " token " << t;
          }
        }
      }
    }
  }
}

TEST(Products, ZeroRowsAndTokensAreNoOps) {
  std::vector<float> y(4, 7.0f);
  const std::vector<float> x(32, 1.0f);
  matvec(GgmlType::Q8_0, nullptr, 0, 32, x.data(), y.data());
  matmat(GgmlType::Q8_0, nullptr, 0, 32, x.data(), 3, y.data());
  matmat(GgmlType::Q8_0, nullptr, 4, 32, x.data(), 0, y.data());
  EXPECT_EQ(y, std::vector<float>(4, 7.0f));
}

TEST(Kernels, TablesCoverEveryComputableType) {
  for (GgmlType type : computable_types()) {
    SCOPED_TRACE(type_label(type));
    const TypeKernels& ref = reference_kernels(type);
    EXPECT_EQ(ref.type, type);
    EXPECT_NE(ref.dequantize_row, nullptr);
    EXPECT_NE(ref.dot_row, nullptr);
    EXPECT_NE(ref.quantize_row, nullptr);
    EXPECT_EQ(kernels_for(type).type, type);
  }
}

TEST(Kernels, UnsupportedTypesFailWithTheirName) {
  try {
    reference_kernels(GgmlType::IQ2_XXS);
    FAIL() << "expected smoe::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "weights of type IQ2_XXS are not supported");
  }
  EXPECT_THROW(kernels_for(GgmlType::Q8_K), Error);
  EXPECT_THROW(kernels_for(GgmlType::I32), Error);
  std::vector<float> y(1);
  EXPECT_THROW(matvec(GgmlType::IQ4_XS, nullptr, 1, 256, nullptr, y.data()), Error);
}

TEST(Kernels, RowLengthMustBeAWholeNumberOfBlocks) {
  std::vector<uint8_t> w(64);
  std::vector<float> x(48), y(1);
  EXPECT_THROW(matvec(GgmlType::Q4_0, w.data(), 1, 48, x.data(), y.data()), Error);
  EXPECT_THROW(matmat(GgmlType::Q4_K, w.data(), 1, 48, x.data(), 1, y.data()), Error);
}

}  // namespace
}  // namespace smoe

// The SIMD levels against the scalar reference, for every type, both precisions and every level
// this CPU supports (forced through set_kernel_level):
// - dequantize_row is bit-identical to the reference on every level;
// - Fast precision: every level gives the scalar level's bits (the integer arithmetic is exact
//   and the float steps are specified), for matvec and matmat;
// - Exact precision: within a bound scaled by sum |w x| of the reference (only the summation
//   order differs);
// - matvec and matmat agree bit for bit for every row and token, for 1..17 and 40 tokens (both
//   fast kernels), weights misaligned by 1 and 63 bytes, activations by 4..60, 1 or 2 threads;
// - Fast results stay close to the exact products (8-bit activations).
#include "kernel_test_util.h"

#include "core/error.h"
#include "kernels/kernels.h"
#include "kernels/vec.h"

#include <gtest/gtest.h>
#include "core/thread_pool.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace smoe {
namespace {

using test::computable_types;
using test::type_label;

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

// Restores the process-wide settings after each test.
class SimdKernels : public testing::Test {
 protected:
  void SetUp() override {
    level_ = kernel_level();
    precision_ = kernel_precision();
    threads_ = smoe::ThreadPool::global().threads();
  }
  void TearDown() override {
    set_kernel_level(level_);
    set_kernel_precision(precision_);
    smoe::ThreadPool::global().set_threads(threads_);
  }
  KernelLevel level_{};
  Precision precision_{};
  int threads_ = 1;
};

// A buffer whose data starts `misalign` bytes past a 64-byte boundary.
template <typename T>
class Misaligned {
 public:
  Misaligned(const std::vector<T>& values, size_t misalign)
      : storage_(values.size() * sizeof(T) + 128) {
    auto address = reinterpret_cast<uintptr_t>(storage_.data());
    offset_ = (64 - address % 64) % 64 + misalign;
    std::memcpy(storage_.data() + offset_, values.data(), values.size() * sizeof(T));
  }
  const T* data() const { return reinterpret_cast<const T*>(storage_.data() + offset_); }

 private:
  std::vector<uint8_t> storage_;
  size_t offset_ = 0;
};

std::vector<uint8_t> random_matrix(GgmlType type, int64_t n_rows, int64_t n_cols, uint32_t seed) {
  const size_t stride = row_bytes(type, n_cols);
  std::vector<uint8_t> w(stride * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto values = test::gaussian(static_cast<size_t>(n_cols), seed + static_cast<uint32_t>(r),
                                       0.02f * static_cast<float>(1 + r % 5));
    reference_kernels(type).quantize_row(values.data(), w.data() + static_cast<size_t>(r) * stride,
                                         n_cols);
  }
  return w;
}

// Row lengths: one block, odd block counts, several 256-value steps, tails of float types.
std::vector<int64_t> lengths(GgmlType type) {
  const int64_t block = type_info(type).block_size;
  if (block == 1) return {1, 15, 16, 17, 100, 256, 300, 1029};
  if (block == 32) return {32, 96, 128, 224, 288, 544, 1056, 2048};  // 128, 2048: Q8_0 decode in unit pairs
  // 4352 (17 blocks): the AVX-512 fused decode tile reads 2 to 7 tokens' rows in pieces of 16
  // or fewer blocks.
  return {256, 768, 1280, 4352};
}

std::vector<KernelLevel> simd_levels() {
  std::vector<KernelLevel> levels;
  for (KernelLevel l : supported_kernel_levels())
    if (l != KernelLevel::Scalar) levels.push_back(l);
  return levels;
}

std::vector<float> product(GgmlType type, const uint8_t* w, int64_t n_rows, int64_t n_cols,
                           const float* x, int64_t n_tokens) {
  std::vector<float> y(static_cast<size_t>(n_rows * n_tokens), -7.0f);
  if (n_tokens == 1)
    matvec(type, w, n_rows, n_cols, x, y.data());
  else
    matmat(type, w, n_rows, n_cols, x, n_tokens, y.data());
  return y;
}

TEST_F(SimdKernels, DequantizeRowIsBitIdentical) {
  for (KernelLevel level : simd_levels()) {
    set_kernel_level(level);
    for (GgmlType type : computable_types()) {
      SCOPED_TRACE(testing::Message() << kernel_level_name(level) << " " << type_label(type));
      for (int64_t n : lengths(type)) {
        const auto w = test::quantize(type, test::gaussian(static_cast<size_t>(n), 3 + n));
        for (size_t misalign : {0, 1, 33}) {
          Misaligned<uint8_t> wm(w, misalign);
          std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
          kernels_for(type).dequantize_row(wm.data(), got.data(), n);
          reference_kernels(type).dequantize_row(w.data(), want.data(), n);
          for (int64_t i = 0; i < n; ++i) ASSERT_EQ(bits(got[i]), bits(want[i])) << "n " << n << " i " << i;
          // The reference reads odd addresses too (under UBSan a misaligned 16-bit load fails here).
          reference_kernels(type).dequantize_row(wm.data(), got.data(), n);
          for (int64_t i = 0; i < n; ++i) ASSERT_EQ(bits(got[i]), bits(want[i])) << "ref n " << n << " i " << i;
        }
      }
    }
  }
}

// Every product of a level, for 1..17 and 40 tokens, against `expected` (scalar level's result
// in Fast precision: bits; reference in Exact: a bound), and matvec == matmat bit for bit.
void check_level(GgmlType type, Precision precision, KernelLevel level, int64_t n_rows, int64_t n_cols) {
  SCOPED_TRACE(testing::Message() << kernel_level_name(level) << " " << precision_name(precision) << " "
                                  << type_label(type) << " " << n_rows << " x " << n_cols);
  const auto w = random_matrix(type, n_rows, n_cols, 91 + static_cast<uint32_t>(n_cols));
  const size_t stride = row_bytes(type, n_cols);
  const int64_t max_tokens = 50;  // 4 vectors of 16 lanes: tiles of 3 token vectors and a remainder
  const auto x = test::gaussian(static_cast<size_t>(n_cols * max_tokens), 17);
  set_kernel_precision(precision);

  // The scalar level's products (Fast: the specification) and the reference's magnitudes.
  set_kernel_level(KernelLevel::Scalar);
  const auto scalar = product(type, w.data(), n_rows, n_cols, x.data(), max_tokens);
  std::vector<double> magnitude(static_cast<size_t>(n_rows * max_tokens));
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto row = test::dequantize(type, std::vector<uint8_t>(w.begin() + r * stride, w.begin() + (r + 1) * stride), n_cols);
    for (int64_t t = 0; t < max_tokens; ++t) {
      double m = 0;
      for (int64_t i = 0; i < n_cols; ++i) m += std::fabs(static_cast<double>(row[i]) * x[t * n_cols + i]);
      magnitude[t * n_rows + r] = m;
    }
  }

  set_kernel_level(level);
  for (size_t misalign : {size_t{0}, size_t{1}, size_t{63}}) {
    Misaligned<uint8_t> wm(w, misalign);
    Misaligned<float> xm(x, misalign * 4 % 64 + (misalign ? 4 : 0));
    // Token 0 alone (matvec) is the reference for every batch.
    std::vector<std::vector<float>> single(static_cast<size_t>(max_tokens));
    for (int64_t t = 0; t < max_tokens; ++t) single[t] = product(type, wm.data(), n_rows, n_cols, xm.data() + t * n_cols, 1);
    for (int64_t t = 0; t < max_tokens; ++t) {
      for (int64_t r = 0; r < n_rows; ++r) {
        const float got = single[t][r], want = scalar[t * n_rows + r];
        if (precision == Precision::Fast && type_info(type).block_size > 1)
          ASSERT_EQ(bits(got), bits(want)) << "token " << t << " row " << r << ": " << got << " vs " << want;
        else
          ASSERT_LE(std::fabs(got - want), 2e-6 * magnitude[t * n_rows + r] + 1e-30)
              << "token " << t << " row " << r << ": " << got << " vs " << want;
      }
    }
    std::vector<int64_t> token_counts;
    for (int64_t k = 2; k <= 17; ++k) token_counts.push_back(k);
    token_counts.push_back(max_tokens);
    for (int64_t n_tokens : token_counts) {
      if (misalign && n_tokens != 3 && n_tokens != 17 && n_tokens != max_tokens) continue;
      const auto y = product(type, wm.data(), n_rows, n_cols, xm.data(), n_tokens);
      for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t r = 0; r < n_rows; ++r)
          ASSERT_EQ(bits(y[t * n_rows + r]), bits(single[t][r]))
              << n_tokens << " tokens: token " << t << " row " << r << " misalign " << misalign;
    }
  }
}

TEST_F(SimdKernels, FastMatchesScalarBitForBit) {
  for (KernelLevel level : simd_levels())
    for (GgmlType type : computable_types()) {
      if (type_info(type).block_size == 1) continue;
      for (int64_t n : lengths(type)) check_level(type, Precision::Fast, level, 19, n);
    }
}

// Blocks of random bytes (every level, scale and min a type can hold, extremes included) with
// their float factors set to 1, against activations of constant magnitude (every quantized value
// +-127): the largest integer sums the Fast kernels meet. The SIMD levels add int8 products in
// int16 before widening, so an overflow there would show as different bits from the scalar level.
TEST_F(SimdKernels, FastExtremeLevelsMatchScalarBitForBit) {
  struct FloatFields {
    GgmlType type;
    std::vector<size_t> offsets;  // half floats of a block
  };
  const std::vector<FloatFields> fields = {
      {GgmlType::Q4_0, {0}},       {GgmlType::Q4_1, {0, 2}},   {GgmlType::Q5_0, {0}},
      {GgmlType::Q5_1, {0, 2}},    {GgmlType::Q8_0, {0}},      {GgmlType::Q2_K, {80, 82}},
      {GgmlType::Q3_K, {108}},     {GgmlType::Q4_K, {0, 2}},   {GgmlType::Q5_K, {0, 2}},
      {GgmlType::Q6_K, {208}},
  };
  set_kernel_precision(Precision::Fast);
  const int64_t n_rows = 19, n_cols = 1024, n_tokens = 20;
  for (const FloatFields& ff : fields) {
    SCOPED_TRACE(type_label(ff.type));
    const size_t block_bytes = row_bytes(ff.type, type_info(ff.type).block_size);
    std::vector<uint8_t> w(row_bytes(ff.type, n_cols) * n_rows);
    uint32_t state = 12345;
    for (uint8_t& b : w) {
      state = state * 1664525u + 1013904223u;
      b = static_cast<uint8_t>(state >> 24);
    }
    for (size_t block = 0; block < w.size(); block += block_bytes)
      for (size_t at : ff.offsets) {
        w[block + at] = 0x00;  // 1.0 as a half float
        w[block + at + 1] = 0x3C;
      }
    // Tokens: all +1, all -1, and signs alternating in runs of 1, 2, 3, ...
    std::vector<float> x(static_cast<size_t>(n_cols * n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t i = 0; i < n_cols; ++i)
        x[t * n_cols + i] = t == 0 ? 1.0f : t == 1 ? -1.0f : ((i / (t - 1)) % 2 ? -1.0f : 1.0f);
    set_kernel_level(KernelLevel::Scalar);
    const auto want = product(ff.type, w.data(), n_rows, n_cols, x.data(), n_tokens);
    for (KernelLevel level : simd_levels()) {
      set_kernel_level(level);
      for (int64_t tokens : {int64_t{1}, int64_t{2}, int64_t{8}, n_tokens}) {
        std::vector<float> got(static_cast<size_t>(n_rows * tokens));
        for (int64_t t0 = 0; t0 < n_tokens; t0 += tokens) {
          const int64_t nt = std::min(tokens, n_tokens - t0);
          const auto y = product(ff.type, w.data(), n_rows, n_cols, x.data() + t0 * n_cols, nt);
          for (int64_t t = 0; t < nt; ++t)
            for (int64_t r = 0; r < n_rows; ++r)
              ASSERT_EQ(bits(y[t * n_rows + r]), bits(want[(t0 + t) * n_rows + r]))
                  << kernel_level_name(level) << ", " << nt << " tokens: token " << t0 + t << " row " << r;
        }
      }
    }
  }
}

TEST_F(SimdKernels, ExactIsCloseToReference) {
  for (KernelLevel level : simd_levels())
    for (GgmlType type : computable_types())
      for (int64_t n : lengths(type)) check_level(type, Precision::Exact, level, 19, n);
}

// The float vector primitives (attention) give vec.h's bits on every level, for every length
// (whole 16-lane chunks and tails) and misaligned inputs.
TEST_F(SimdKernels, FloatVectorOpsAreBitIdenticalOnEveryLevel) {
  const auto a = test::gaussian(300, 5), b = test::gaussian(300, 6);
  for (KernelLevel level : supported_kernel_levels()) {
    set_kernel_level(level);
    const FloatVectorOps ops = float_vector_ops();
    SCOPED_TRACE(kernel_level_name(level));
    for (int64_t n = 0; n <= 257; n = n < 40 ? n + 1 : n + 31) {
      for (size_t misalign : {0, 1, 3}) {
        const float* x = a.data() + misalign;
        const float* w = b.data() + 2 * misalign;
        ASSERT_EQ(bits(ops.dot(x, w, n)), bits(dot_f32(x, w, n))) << "n " << n;
        std::vector<float> y_got(w, w + n), y_want(w, w + n);
        ops.axpy(0.37f, x, y_got.data(), n);
        for (int64_t i = 0; i < n; ++i) y_want[i] += 0.37f * x[i];
        ASSERT_EQ(y_got, y_want) << "n " << n;
        ops.scale(-1.7f, y_got.data(), n);
        for (int64_t i = 0; i < n; ++i) y_want[i] *= -1.7f;
        ASSERT_EQ(y_got, y_want) << "n " << n;
      }
    }
  }
}

// Rows of no values (a legal shape) give zeros at every level, precision and token count, and
// size no kernel's scratch from an empty range.
TEST_F(SimdKernels, EmptyRowsGiveZeros) {
  for (KernelLevel level : supported_kernel_levels()) {
    set_kernel_level(level);
    for (Precision precision : {Precision::Exact, Precision::Fast}) {
      set_kernel_precision(precision);
      for (GgmlType type : computable_types()) {
        SCOPED_TRACE(testing::Message() << kernel_level_name(level) << " " << precision_name(precision) << " " << type_label(type));
        const uint8_t w = 0;
        const float x = 0.0f;
        for (int64_t n_tokens : {int64_t{1}, int64_t{2}, int64_t{8}, int64_t{40}}) {
          const auto y = product(type, &w, 37, 0, &x, n_tokens);
          for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(bits(y[i]), 0u) << n_tokens << " tokens, " << i;
        }
      }
    }
  }
}

TEST_F(SimdKernels, ResultsDoNotDependOnThreads) {
  for (KernelLevel level : supported_kernel_levels()) {
    set_kernel_level(level);
    for (Precision precision : {Precision::Exact, Precision::Fast}) {
      set_kernel_precision(precision);
      for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
        SCOPED_TRACE(testing::Message() << kernel_level_name(level) << " " << precision_name(precision) << " " << type_label(type));
        const int64_t n_rows = 301, n_cols = 1024;
        const auto w = random_matrix(type, n_rows, n_cols, 5);
        const auto x = test::gaussian(static_cast<size_t>(n_cols * 40), 8);
        for (int64_t n_tokens : {int64_t{1}, int64_t{6}, int64_t{40}}) {
          smoe::ThreadPool::global().set_threads(1);
          const auto one = product(type, w.data(), n_rows, n_cols, x.data(), n_tokens);
          smoe::ThreadPool::global().set_threads(2);
          const auto two = product(type, w.data(), n_rows, n_cols, x.data(), n_tokens);
          for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(bits(one[i]), bits(two[i])) << n_tokens << " tokens, " << i;
        }
      }
    }
  }
}

// 8-bit activations cost accuracy, but boundedly: relative RMS error against the exact products.
TEST_F(SimdKernels, FastIsCloseToExact) {
  for (GgmlType type : computable_types()) {
    if (type_info(type).block_size == 1) continue;
    SCOPED_TRACE(type_label(type));
    const int64_t n_rows = 64, n_cols = 2048;
    const auto w = random_matrix(type, n_rows, n_cols, 12);
    const auto x = test::gaussian(static_cast<size_t>(n_cols), 13);
    set_kernel_precision(Precision::Exact);
    const auto exact = product(type, w.data(), n_rows, n_cols, x.data(), 1);
    set_kernel_precision(Precision::Fast);
    const auto fast = product(type, w.data(), n_rows, n_cols, x.data(), 1);
    EXPECT_LT(test::relative_rmse(exact, fast), 0.02);
  }
}

TEST_F(SimdKernels, PreparedActivationsMatchMatmat) {
  for (KernelLevel level : supported_kernel_levels()) {
    set_kernel_level(level);
    for (Precision precision : {Precision::Exact, Precision::Fast}) {
      set_kernel_precision(precision);
      for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::F32}) {
        const int64_t n_rows = 40, n_cols = 512;
        const auto w = random_matrix(type, n_rows, n_cols, 2);
        for (int64_t n_tokens : {int64_t{1}, int64_t{3}, int64_t{33}}) {
          const auto x = test::gaussian(static_cast<size_t>(n_cols * n_tokens), 4);
          const auto want = product(type, w.data(), n_rows, n_cols, x.data(), n_tokens);
          PreparedActivations prepared;
          prepared.prepare(type, x.data(), n_cols, n_tokens);
          std::vector<float> got(want.size());
          matmat_prepared(type, w.data(), n_rows, n_cols, prepared, got.data());
          for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(bits(got[i]), bits(want[i]));
        }
      }
    }
  }
}

TEST_F(SimdKernels, PreparedActivationsRejectAnotherFamily) {
  set_kernel_precision(Precision::Fast);
  const auto x = test::gaussian(256, 1);
  PreparedActivations prepared;
  prepared.prepare(GgmlType::Q4_0, x.data(), 256, 1);
  const auto w = random_matrix(GgmlType::Q4_K, 1, 256, 1);
  std::vector<float> y(1);
  EXPECT_THROW(matmat_prepared(GgmlType::Q4_K, w.data(), 1, 256, prepared, y.data()), Error);
}

TEST_F(SimdKernels, LevelsAndNames) {
  EXPECT_TRUE(kernel_level_supported(KernelLevel::Scalar));
  EXPECT_EQ(parse_kernel_level("avx512"), KernelLevel::Avx512);
  EXPECT_EQ(parse_kernel_level("sse"), std::nullopt);
  EXPECT_EQ(parse_precision("fast"), Precision::Fast);
  EXPECT_EQ(supported_kernel_levels().back(), best_kernel_level());
  for (KernelLevel l : {KernelLevel::Avx2, KernelLevel::Avx512})
    if (!kernel_level_supported(l)) {
      EXPECT_THROW(set_kernel_level(l), Error);
    }
}

}  // namespace
}  // namespace smoe

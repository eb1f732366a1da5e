// Helpers shared by the kernel tests: the computable types, deterministic random data, and
// quantize / dequantize of whole rows through the reference tables.
#pragma once

#include "kernels/ggml_type.h"
#include "kernels/kernels.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace smoe::test {

inline const std::vector<GgmlType>& computable_types() {
  static const std::vector<GgmlType> types = {
      GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
      GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,
      GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  return types;
}

// Standard normal values from a fixed seed (Box-Muller over mt19937, so the data does not depend
// on the standard library's distribution implementation).
inline std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  const double two_pi = 6.283185307179586;
  for (size_t i = 0; i < n; i += 2) {
    const double u1 = (static_cast<double>(rng()) + 1.0) / 4294967297.0;
    const double u2 = static_cast<double>(rng()) / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    v[i] = static_cast<float>(sigma * r * std::cos(two_pi * u2));
    if (i + 1 < n) v[i + 1] = static_cast<float>(sigma * r * std::sin(two_pi * u2));
  }
  return v;
}

// Bell-shaped test values that every platform computes bit-identically (no libm, only exact
// or correctly rounded float operations): sums of four 24-bit uniform numbers from an LCG,
// centred, then scaled per 32-value block by powers of two, with planted outliers, all-zero
// blocks and constant blocks (the degenerate cases of the quantizers' searches).
inline std::vector<float> portable_values(size_t n, uint32_t seed) {
  uint32_t state = seed;
  auto next_uniform = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) * 0x1p-24f;
  };
  const float block_scales[5] = {0x1p-6f, 0x1p-5f, 0x1p-4f, 0x1p-3f, 0x1p-7f};
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    float sum = 0;
    for (int k = 0; k < 4; ++k) sum += next_uniform();
    const size_t block = i / 32;
    v[i] = (sum - 2.0f) * block_scales[block % 5];
    if (i % 97 == 0) v[i] *= 8.0f;
    if (block % 11 == 3) v[i] = 0.0f;
    if (block % 13 == 5) v[i] = 0.01f;
  }
  return v;
}

// FNV-1a over bytes: a compact fingerprint of a quantized row.
inline uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() >> 24);
  return v;
}

inline std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& values) {
  std::vector<uint8_t> q(row_bytes(type, static_cast<int64_t>(values.size())));
  reference_kernels(type).quantize_row(values.data(), q.data(), static_cast<int64_t>(values.size()));
  return q;
}

inline std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  reference_kernels(type).dequantize_row(q.data(), v.data(), n);
  return v;
}

// sqrt(sum (a - b)^2 / sum a^2).
inline double relative_rmse(const std::vector<float>& reference, const std::vector<float>& approx) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double d = static_cast<double>(reference[i]) - approx[i];
    err += d * d;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  return norm > 0 ? std::sqrt(err / norm) : std::sqrt(err);
}

inline std::string type_label(GgmlType type) { return std::string(type_name(type)); }

}  // namespace smoe::test

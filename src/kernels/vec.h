// Float32 dot products with one fixed summation order, shared by the reference kernels and the
// model code. The order is a contract: element i always goes to partial sum (lane) i % kDotLanes,
// lanes are combined pairwise, then the last n % kDotLanes products are added one by one. So a
// dot product computed in pieces (DotAccumulator, lengths multiple of kDotLanes except the last)
// is bit-identical to dot_f32 over the whole vectors; that is what makes matvec (one row at a
// time, dequantized in small chunks) and matmat (whole rows dequantized once) agree exactly.
//
// Products and sums are separate float32 operations: baseline x86-64 has no FMA. A file compiled
// with -mfma (the SIMD levels in src/kernels/x86/) must not call these inline functions, since
// GCC would contract them into FMAs there and, through the one-definition rule, possibly
// everywhere; such variants bring their own dot products and their own bit-identity guarantees.
#pragma once

#include <cstdint>

namespace smoe {

// Independent partial sums: enough for the compiler to use several vector registers, which
// hides the latency of the additions.
inline constexpr int64_t kDotLanes = 16;

class DotAccumulator {
 public:
  // Adds sum a[i] * b[i] for i in [0, n); n must be a multiple of kDotLanes.
  void add(const float* a, const float* b, int64_t n) {
    float acc[kDotLanes];
    for (int64_t k = 0; k < kDotLanes; ++k) acc[k] = lanes_[k];
    for (int64_t i = 0; i < n; i += kDotLanes)
      for (int64_t k = 0; k < kDotLanes; ++k) acc[k] += a[i + k] * b[i + k];
    for (int64_t k = 0; k < kDotLanes; ++k) lanes_[k] = acc[k];
  }

  // Adds the last n products (any n) and returns the total.
  float finish(const float* a, const float* b, int64_t n) {
    const int64_t whole = n - n % kDotLanes;
    add(a, b, whole);
    float partial[kDotLanes];
    for (int64_t k = 0; k < kDotLanes; ++k) partial[k] = lanes_[k];
    for (int64_t width = kDotLanes / 2; width >= 1; width /= 2)
      for (int64_t k = 0; k < width; ++k) partial[k] += partial[k + width];
    float total = partial[0];
    for (int64_t i = whole; i < n; ++i) total += a[i] * b[i];
    return total;
  }

 private:
  float lanes_[kDotLanes] = {};
};

// sum a[i] * b[i] for i in [0, n), in the order described above.
inline float dot_f32(const float* a, const float* b, int64_t n) {
  DotAccumulator acc;
  return acc.finish(a, b, n);
}

}  // namespace smoe

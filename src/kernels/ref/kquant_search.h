// The scale searches behind llama.cpp's K-quant reference quantizers (ggml-quants.c:
// make_qx_quants, make_q3_quants, make_qkx2_quants). They are reproduced operation for operation,
// same float evaluation order included, so that smoe's quantized files are as good as (and in
// practice identical to) llama.cpp's.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace smoe::ref {

// Groups whose largest magnitude is below this are stored as all zeros (GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, for |x| <= 2^22: adding 1.5 * 2^23 leaves the rounded integer
// in the low mantissa bits (ggml's nearest_int; faster than lrintf and rounding-mode free).
inline int nearest_int(float x) {
  const float shifted = x + 12582912.f;
  const int32_t bits = std::bit_cast<int32_t>(shifted);
  return (bits & 0x007FFFFF) - 0x00400000;
}

// Symmetric quantization of n values to L[i] in [0, 2 nmax) (value ~ scale * (L[i] - nmax)).
// rmse_type 0: plain rounding with scale = max / -nmax. Otherwise a weighted least-squares scale
// (weights qw, or if null: x^2 for type 1, 1 for 2, |x| for 3, sqrt|x| for 4) refined over 18
// neighbouring trial scales; a negative rmse_type returns early with the mean of the two first
// estimates. Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);

// Symmetric quantization for Q3_K: L[i] in [0, 2 nmax). With do_rmse, the x^2-weighted least
// squares solution improved by coordinate descent (up to 5 passes). Returns the scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric quantization value ~ scale * L[i] - the_min, L[i] in [0, nmax], the min clamped so
// that the offset is never positive: tries nstep + 1 scales (nmax + rmin + rdelta * is) / range,
// each with its weighted least-squares (scale, min), and keeps the one with the least weighted
// squared (or absolute, use_mad) error. Laux is scratch of n bytes. Returns the scale.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

}  // namespace smoe::ref

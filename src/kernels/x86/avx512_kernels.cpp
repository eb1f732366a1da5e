// The AVX-512 level (F, BW, DQ, VL, VNNI): 16 int32 / float lanes, VPDPBUSD for the Fast
// precision's int8 dot products. Compiled with -mavx512* (CMakeLists.txt), so everything here
// has internal linkage except avx512_ops(); the kernels themselves are the level-independent
// code of simd_kernels.inc, written against the vector layer below.
#include "kernels/kernel_levels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace smoe::kernel_impl {
namespace {
namespace v {

constexpr int kLanes = 16;  // int32 / float lanes per vector
constexpr int kBytes = 64;  // bytes per vector
constexpr bool kNarrowMaddubs = false;  // true where u8 x s8 pair sums saturate at int16

using I = __m512i;
using F = __m512;

inline I zero() { return _mm512_setzero_si512(); }
inline I load(const void* p) { return _mm512_loadu_si512(p); }
// The first n (< kBytes) bytes at p, zeros after (never reads past p + n).
inline I load_partial(const void* p, int n) {
  return _mm512_maskz_loadu_epi8(n >= 64 ? ~0ull : (1ull << n) - 1, p);
}
inline void store(void* p, I a) { _mm512_storeu_si512(p, a); }
inline I add(I a, I b) { return _mm512_add_epi32(a, b); }
inline I sub(I a, I b) { return _mm512_sub_epi32(a, b); }
inline I mullo(I a, I b) { return _mm512_mullo_epi32(a, b); }
inline I set1(int32_t a) { return _mm512_set1_epi32(a); }
inline I set1_u8(uint8_t a) { return _mm512_set1_epi8(static_cast<char>(a)); }
inline I bcast32(const void* p) {
  int32_t a;
  std::memcpy(&a, p, 4);
  return _mm512_set1_epi32(a);
}
inline I sub_u8(I a, I b) { return _mm512_sub_epi8(a, b); }
// acc + sum over each group of 4 bytes of u8(a) * s8(b), without saturation.
inline I dot(I acc, I a_u8, I b_s8) { return _mm512_dpbusd_epi32(acc, a_u8, b_s8); }
// acc + sum over each pair of int16 of a * b.
inline I dot16(I acc, I a, I b) { return _mm512_dpwssd_epi32(acc, a, b); }
// Packs two vectors of int32 (each < 2^15 in magnitude) to int16, interleaving per 128 bits:
// 128-bit lane k holds a's int32 lanes 4k..4k+3, then b's.
inline I pack(I a, I b) { return _mm512_packs_epi32(a, b); }
// The int16 scales matching pack(chunk 2 pair, chunk 2 pair + 1) of dot products over 64-value
// chunks: int32 lane l of chunk c covers group 4c + l / 4 of sc[16], so 128-bit lane k of the
// pack holds groups 8 pair + k (x4) then 8 pair + 4 + k (x4).
inline I pair_scales(const int16_t* sc, int pair) {
  // Groups 8 pair .. 8 pair + 7 are one 128-bit lane of sc: broadcast it, then shuffle in-lane.
  const I groups = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 8 * pair)));
  const I pattern = _mm512_set_epi64(0x0F0E0F0E0F0E0F0ELL, 0x0706070607060706LL,   // lane 3: g3, g7
                                     0x0D0C0D0C0D0C0D0CLL, 0x0504050405040504LL,   // lane 2: g2, g6
                                     0x0B0A0B0A0B0A0B0ALL, 0x0302030203020302LL,   // lane 1: g1, g5
                                     0x0908090809080908LL, 0x0100010001000100LL);  // lane 0: g0, g4
  return _mm512_shuffle_epi8(groups, pattern);
}
// a's 16 int32 lanes folded to 8 (lanes l and l + 8 added) in the lower half, b in the upper.
inline I with_upper_half(I a, __m256i b) {
  const __m256i folded = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
  return _mm512_inserti64x4(_mm512_castsi256_si512(folded), b, 1);
}
// 8 int32: pairs of a[16] * b[16] (int16) summed.
inline __m256i madd16_half(const int16_t* a, const int16_t* b) {
  return _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
}
// The same as a full vector (upper half zero).
inline I madd16_lanes(const int16_t* a, const int16_t* b) { return _mm512_zextsi256_si512(madd16_half(a, b)); }
inline int32_t hsum(I a) { return _mm512_reduce_add_epi32(a); }

// Transposed reduction: v[r] (r < 16) -> out[b] with lane r = sum of the lanes of v[r] in the
// 32-byte half b (b < 2). Integer sums, so any order gives the same result.
inline void reduce_rows(const I* v, I* out) {
  I a[8], b[4];
  for (int i = 0; i < 8; ++i)
    a[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i)
    b[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(a[2 * i], a[2 * i + 1]),
                            _mm512_unpackhi_epi64(a[2 * i], a[2 * i + 1]));
  // b[i]: 128-bit lane k holds rows 4i..4i+3 summed over the 128-bit lane k of each row.
  const I e0 = _mm512_add_epi32(_mm512_shuffle_i32x4(b[0], b[1], 0x88), _mm512_shuffle_i32x4(b[0], b[1], 0xDD));
  const I e1 = _mm512_add_epi32(_mm512_shuffle_i32x4(b[2], b[3], 0x88), _mm512_shuffle_i32x4(b[2], b[3], 0xDD));
  // e0: [rows 0-3 half 0, rows 0-3 half 1, rows 4-7 half 0, rows 4-7 half 1]
  out[0] = _mm512_shuffle_i32x4(e0, e1, 0x88);
  out[1] = _mm512_shuffle_i32x4(e0, e1, 0xDD);
}
constexpr int kHalves = 2;  // outputs of reduce_rows (32-byte halves per vector)

inline F fzero() { return _mm512_setzero_ps(); }
inline F fload(const float* p) { return _mm512_loadu_ps(p); }
inline F fload_partial(const float* p, int n) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
}
inline void fstore(float* p, F a) { _mm512_storeu_ps(p, a); }
inline F fset1(float a) { return _mm512_set1_ps(a); }
inline F fadd(F a, F b) { return _mm512_add_ps(a, b); }
inline F fsub(F a, F b) { return _mm512_sub_ps(a, b); }
inline F fmul(F a, F b) { return _mm512_mul_ps(a, b); }
inline F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
inline F cvt(I a) { return _mm512_cvtepi32_ps(a); }
// 16 int8 / uint8 at p as floats.
inline F cvt_s8(const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
inline F load_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline F load_f16_partial(const uint16_t* p, int n) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p));
}
inline F load_bf16(const uint16_t* p) {
  const I w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline F load_bf16_partial(const uint16_t* p, int n) {
  const I w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
// The fixed summation order of the exact kernels' final reduction: halves, then quarters...
inline float fhsum(F a) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }
inline float round_to_half(float f) { return _cvtsh_ss(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }
// max |x[i]| over 16 floats.
inline float absmax16(const float* x) { return _mm512_reduce_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x))); }
// q[i] = clamp(nearest_even(x[i] * iscale), -127, 127) for 16 values; returns their sum.
inline int32_t quantize16(const float* x, float iscale, int8_t* q) {
  I v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(iscale)));
  v = _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(v));
  return _mm512_reduce_add_epi32(v);
}
// kLanes int16 at p as floats.
inline F cvt_i16(const int16_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
}
// 16 bytes at p as floats.
inline F cvt_u8(const uint8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
inline I xor_bytes(I a, I b) { return _mm512_xor_si512(a, b); }
// acc + sum over groups of 4 of s8(a) * s8(b) (only needed where kNarrowMaddubs).
inline I dot_signed(I acc, I a, I b) {
  const I bias = set1_u8(0x80);
  return sub(dot(acc, xor_bytes(a, bias), b), dot(zero(), bias, b));
}
constexpr int kExactTokens = 4;  // tokens per exact tile (4 rows x 4 tokens of accumulators)

}  // namespace v

#include "kernels/x86/simd_kernels.inc"

constexpr LevelOps kOps = {
    "avx512", v::kLanes, 16, &exact_rows, &fast_rows, &fast_rows_lanes, &scratch_bytes,
    &dequantize_row, 16, &quantize_row,
    &simd_dot_f32, &simd_axpy_f32, &simd_scale_f32,
};

}  // namespace

const LevelOps& avx512_ops() { return kOps; }

}  // namespace smoe::kernel_impl

// The AVX2 level (AVX2, FMA, F16C): 8 int32 / float lanes; the Fast precision's int8 dot
// products use VPMADDUBSW + VPMADDWD (u8 x s8 pairs saturate at int16, so Q8_0's full-range
// levels take the sign trick instead, see kNarrowMaddubs). Compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt), so everything here has internal linkage except avx2_ops(); the kernels are
// the level-independent code of simd_kernels.inc.
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

constexpr int kLanes = 8;
constexpr int kBytes = 32;
constexpr bool kNarrowMaddubs = true;
constexpr int kHalves = 1;
constexpr int kExactTokens = 2;  // 4 rows x 2 tokens of accumulators (16 registers)

using I = __m256i;
using F = __m256;

inline I zero() { return _mm256_setzero_si256(); }
inline I load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline I load_partial(const void* p, int n) {
  alignas(32) uint8_t buffer[32] = {};
  std::memcpy(buffer, p, static_cast<size_t>(n < 32 ? n : 32));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(buffer));
}
inline void store(void* p, I a) { _mm256_storeu_si256(static_cast<__m256i*>(p), a); }
inline I add(I a, I b) { return _mm256_add_epi32(a, b); }
inline I sub(I a, I b) { return _mm256_sub_epi32(a, b); }
inline I mullo(I a, I b) { return _mm256_mullo_epi32(a, b); }
inline I set1(int32_t a) { return _mm256_set1_epi32(a); }
inline I set1_u8(uint8_t a) { return _mm256_set1_epi8(static_cast<char>(a)); }
inline I bcast32(const void* p) {
  int32_t a;
  std::memcpy(&a, p, 4);
  return _mm256_set1_epi32(a);
}
inline I sub_u8(I a, I b) { return _mm256_sub_epi8(a, b); }
inline I xor_bytes(I a, I b) { return _mm256_xor_si256(a, b); }
// acc + sum over each group of 4 bytes of u8(a) * s8(b); pairs must not exceed int16 (callers
// guarantee |b| * 255 * 2 < 2^15 or a small enough).
inline I dot(I acc, I a_u8, I b_s8) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a_u8, b_s8), _mm256_set1_epi16(1)));
}
// acc + sum over groups of 4 of s8(a) * s8(b), exact for a != -128 or |b| < 128.
inline I dot_signed(I acc, I a, I b) {
  return dot(acc, _mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}
inline I dot16(I acc, I a, I b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
inline I pack(I a, I b) { return _mm256_packs_epi32(a, b); }
// Scales matching pack(chunk 2 pair, chunk 2 pair + 1) of 32-value chunks: int32 lane l of
// chunk c covers group 2c + l / 4; 128-bit lane k of the pack holds groups 4 pair + k (x4),
// then 4 pair + 2 + k (x4).
inline I pair_scales(const int16_t* sc, int pair) {
  const __m128i four = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 4 * pair));
  const I both = _mm256_broadcastsi128_si256(four);
  const I pattern = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 4, 5, 4, 5, 4, 5, 4, 5,
                                     2, 3, 2, 3, 2, 3, 2, 3, 6, 7, 6, 7, 6, 7, 6, 7);
  return _mm256_shuffle_epi8(both, pattern);
}
inline __m256i madd16_half(const int16_t* a, const int16_t* b) {
  return _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
}
inline I madd16_lanes(const int16_t* a, const int16_t* b) { return madd16_half(a, b); }
inline I with_upper_half(I a, __m256i) { return a; }  // unused: kHalves == 1
inline int32_t hsum(I a) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Transposed reduction: out[0] lane r = sum of the lanes of v[r] (r < 8).
inline void reduce_rows(const I* v, I* out) {
  I a[4], b[2];
  for (int i = 0; i < 4; ++i)
    a[i] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 2; ++i)
    b[i] = _mm256_add_epi32(_mm256_unpacklo_epi64(a[2 * i], a[2 * i + 1]),
                            _mm256_unpackhi_epi64(a[2 * i], a[2 * i + 1]));
  // b[i]: 128-bit lane k holds rows 4i..4i+3 summed over the 128-bit lane k of each row.
  out[0] = _mm256_add_epi32(_mm256_permute2x128_si256(b[0], b[1], 0x20),
                            _mm256_permute2x128_si256(b[0], b[1], 0x31));
}

inline F fzero() { return _mm256_setzero_ps(); }
inline F fload(const float* p) { return _mm256_loadu_ps(p); }
inline F fload_partial(const float* p, int n) {
  const I index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index));
}
inline void fstore(float* p, F a) { _mm256_storeu_ps(p, a); }
inline F fset1(float a) { return _mm256_set1_ps(a); }
inline F fadd(F a, F b) { return _mm256_add_ps(a, b); }
inline F fsub(F a, F b) { return _mm256_sub_ps(a, b); }
inline F fmul(F a, F b) { return _mm256_mul_ps(a, b); }
inline F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
inline F cvt(I a) { return _mm256_cvtepi32_ps(a); }
inline F cvt_u8(const uint8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline F load_bf16(const uint16_t* p) {
  const I w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
// The exact kernels' final reduction: halves, then quarters, then pairs.
inline float fhsum(F a) {
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}
inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }
inline float round_to_half(float f) { return _cvtsh_ss(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }
inline float absmax16(const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}
inline int32_t quantize16(const float* x, float iscale, int8_t* q) {
  const __m256 s = _mm256_set1_ps(iscale);
  const I lo = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), s));
  const I hi = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), s));
  // Saturating packs (to int16, then int8) clamp to [-128, 127]; -128 cannot occur (|x| * iscale
  // <= 127), so this equals the clamp to [-127, 127].
  const I words = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
  const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), bytes);
  return hsum(_mm256_add_epi32(lo, hi));
}
// kLanes int16 at p as floats.
inline F cvt_i16(const int16_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}

}  // namespace v

#include "kernels/x86/simd_kernels.inc"

constexpr LevelOps kOps = {
    "avx2", v::kLanes, 16, &exact_rows, &fast_rows, &fast_rows_lanes, &scratch_bytes,
    &dequantize_row, 8, &quantize_row,
    &simd_dot_f32, &simd_axpy_f32, &simd_scale_f32,
};

}  // namespace

const LevelOps& avx2_ops() { return kOps; }

}  // namespace smoe::kernel_impl

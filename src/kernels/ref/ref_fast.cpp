// The scalar level: the reference kernels behind the dispatcher's interface, and the portable
// definition of the Fast precision (8-bit activations, integer dot products; the arithmetic is
// specified in kernel_levels.h). The SIMD levels must reproduce fast_rows here bit for bit, so
// this file is written for clarity, straight from the block layouts of blocks.h.
#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/kernel_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/vec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace smoe::kernel_impl {
namespace {

// ggml's nearest_int: round to nearest, ties to even, for |v| < 2^22 (adding 1.5 * 2^23 puts
// the integer part in the low mantissa bits).
int nearest_even(float v) {
  const float shifted = v + 12582912.f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007FFFFF) - 0x00400000;
}

// One unit of a weight row in integer form: level w (centered), group scale and min per 16
// values, and the float factors of the unit.
struct IntUnit {
  int8_t w[kSuperBlockValues];
  int16_t sc[kSuperBlockValues / 16];
  int16_t mn[kSuperBlockValues / 16];
  float d;
  float dmin;  // K-quants with mins: dmin; Q4_1 / Q5_1: m
};

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void unpack_unit(GgmlType type, const uint8_t* src, IntUnit& u) {
  std::fill(std::begin(u.sc), std::end(u.sc), int16_t{1});
  std::fill(std::begin(u.mn), std::end(u.mn), int16_t{0});
  u.dmin = 0.0f;
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1: {
      const bool with_min = type == GgmlType::Q4_1;
      const uint8_t* qs = src + (with_min ? 4 : 2);
      for (int j = 0; j < 16; ++j) {
        u.w[j] = static_cast<int8_t>((qs[j] & 0xF) - (with_min ? 0 : 8));
        u.w[j + 16] = static_cast<int8_t>((qs[j] >> 4) - (with_min ? 0 : 8));
      }
      u.d = fp16_to_fp32(static_cast<uint16_t>(src[0] | src[1] << 8));
      if (with_min) u.dmin = fp16_to_fp32(static_cast<uint16_t>(src[2] | src[3] << 8));
      return;
    }
    case GgmlType::Q5_0:
    case GgmlType::Q5_1: {
      const bool with_min = type == GgmlType::Q5_1;
      const uint8_t* qh = src + (with_min ? 4 : 2);
      const uint8_t* qs = qh + 4;
      const uint32_t high = load_u32(qh);
      for (int j = 0; j < 16; ++j) {
        const int q0 = (qs[j] & 0xF) | static_cast<int>(((high >> j) & 1u) << 4);
        const int q1 = (qs[j] >> 4) | static_cast<int>(((high >> (j + 16)) & 1u) << 4);
        u.w[j] = static_cast<int8_t>(q0 - (with_min ? 0 : 16));
        u.w[j + 16] = static_cast<int8_t>(q1 - (with_min ? 0 : 16));
      }
      u.d = fp16_to_fp32(static_cast<uint16_t>(src[0] | src[1] << 8));
      if (with_min) u.dmin = fp16_to_fp32(static_cast<uint16_t>(src[2] | src[3] << 8));
      return;
    }
    case GgmlType::Q8_0: {
      for (int j = 0; j < 32; ++j) u.w[j] = static_cast<int8_t>(src[2 + j]);
      u.d = fp16_to_fp32(static_cast<uint16_t>(src[0] | src[1] << 8));
      return;
    }
    case GgmlType::Q2_K: {
      BlockQ2_K b;
      std::memcpy(&b, src, sizeof(b));
      for (int i = 0; i < 256; ++i) {
        const int n = i / 128, j = (i % 128) / 32, l = i % 32;
        u.w[i] = static_cast<int8_t>((b.qs[32 * n + l] >> (2 * j)) & 3);
      }
      for (int g = 0; g < 16; ++g) {
        u.sc[g] = static_cast<int16_t>(b.scales[g] & 0xF);
        u.mn[g] = static_cast<int16_t>(b.scales[g] >> 4);
      }
      u.d = fp16_to_fp32(b.d);
      u.dmin = fp16_to_fp32(b.dmin);
      return;
    }
    case GgmlType::Q3_K: {
      BlockQ3_K b;
      std::memcpy(&b, src, sizeof(b));
      for (int i = 0; i < 256; ++i) {
        const int n = i / 128, j = (i % 128) / 32, l = i % 32;
        const int low = (b.qs[32 * n + l] >> (2 * j)) & 3;
        const bool high = (b.hmask[l] >> (4 * n + j)) & 1;
        u.w[i] = static_cast<int8_t>(low - (high ? 0 : 4));
      }
      for (int g = 0; g < 16; ++g) u.sc[g] = static_cast<int16_t>(q3k_scale(g, b.scales) - 32);
      u.d = fp16_to_fp32(b.d);
      return;
    }
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      const bool five = type == GgmlType::Q5_K;
      BlockQ5_K b5{};
      BlockQ4_K b4{};
      const uint8_t* scales;
      const uint8_t* qs;
      if (five) {
        std::memcpy(&b5, src, sizeof(b5));
        scales = b5.scales;
        qs = b5.qs;
        u.d = fp16_to_fp32(b5.d);
        u.dmin = fp16_to_fp32(b5.dmin);
      } else {
        std::memcpy(&b4, src, sizeof(b4));
        scales = b4.scales;
        qs = b4.qs;
        u.d = fp16_to_fp32(b4.d);
        u.dmin = fp16_to_fp32(b4.dmin);
      }
      for (int i = 0; i < 256; ++i) {
        const int c = i / 64, high = (i % 64) / 32, l = i % 32;
        int q = high ? qs[32 * c + l] >> 4 : qs[32 * c + l] & 0xF;
        if (five) q |= ((b5.qh[l] >> (2 * c + high)) & 1) << 4;
        u.w[i] = static_cast<int8_t>(q);
      }
      for (int g = 0; g < 8; ++g) {
        const ScaleMin sm = q4k_scale_min(g, scales);
        u.sc[2 * g] = u.sc[2 * g + 1] = sm.scale;
        u.mn[2 * g] = u.mn[2 * g + 1] = sm.min;
      }
      return;
    }
    case GgmlType::Q6_K: {
      BlockQ6_K b;
      std::memcpy(&b, src, sizeof(b));
      for (int i = 0; i < 256; ++i) {
        const int n = i / 128, v = i % 128, k = v / 32, l = v % 32;
        const int low = (b.ql[64 * n + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0xF;
        const int high = (b.qh[32 * n + l] >> (2 * k)) & 3;
        u.w[i] = static_cast<int8_t>((low | (high << 4)) - 32);
      }
      for (int g = 0; g < 16; ++g) u.sc[g] = b.scales[g];
      u.d = fp16_to_fp32(b.d);
      return;
    }
    default:
      break;
  }
}

bool has_int_min(GgmlType t) { return t == GgmlType::Q2_K || t == GgmlType::Q4_K || t == GgmlType::Q5_K; }
bool has_float_min(GgmlType t) { return t == GgmlType::Q4_1 || t == GgmlType::Q5_1; }

// ------------------------------------------------------------------------------- scalar level

void scalar_exact_rows(const Matrix& m, int64_t row_begin, int64_t row_end, const float* x,
                       int64_t n_tokens, float* y, int64_t ldy, void* scratch) {
  const TypeKernels& k = reference_kernels(m.type);
  auto* row = static_cast<float*>(scratch);
  for (int64_t r = row_begin; r < row_end; ++r) {
    // dot_row equals dot_f32 of the dequantized row, so one dequantization serves all tokens.
    k.dequantize_row(m.w + static_cast<size_t>(r) * m.stride, row, m.n_cols);
    for (int64_t t = 0; t < n_tokens; ++t) y[t * ldy + r] = dot_f32(row, x + t * m.n_cols, m.n_cols);
  }
}

void scalar_fast_rows(const Matrix& m, int64_t row_begin, int64_t row_end, const Q8Activations& x,
                      int64_t token_begin, int64_t token_end, float* y, int64_t ldy, void* scratch) {
  const int64_t unit = x.unit;
  const int64_t n_units = m.n_cols / unit;
  const size_t unit_bytes = row_bytes(m.type, unit);
  auto* units = static_cast<IntUnit*>(scratch);
  const bool int_min = has_int_min(m.type), float_min = has_float_min(m.type);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = m.w + static_cast<size_t>(r) * m.stride;
    for (int64_t u = 0; u < n_units; ++u) unpack_unit(m.type, row + u * unit_bytes, units[u]);
    for (int64_t t = token_begin; t < token_end; ++t) {
      const int8_t* q = x.q + t * x.n;
      const int16_t* sums16 = x.sums16 + t * (x.n / 16);
      float acc = 0.0f;
      for (int64_t u = 0; u < n_units; ++u) {
        const IntUnit& iu = units[u];
        int32_t isum = 0, msum = 0;
        for (int64_t i = 0; i < unit; ++i) isum += iu.sc[i / 16] * iu.w[i] * q[u * unit + i];
        for (int64_t j = 0; j < unit / 16; ++j) msum += iu.mn[j] * sums16[u * unit / 16 + j];
        const float da = x.d[t * n_units + u];
        acc = acc + static_cast<float>(isum) * (iu.d * da);
        if (int_min) acc = acc - static_cast<float>(msum) * (iu.dmin * da);
        if (float_min) acc = acc + iu.dmin * x.sa[t * n_units + u];
      }
      y[t * ldy + r] = acc;
    }
  }
}

size_t scalar_scratch_bytes(GgmlType type, int64_t n_cols, int64_t n_tokens) {
  const int64_t unit = activation_unit(type);
  const size_t fast = unit ? static_cast<size_t>(n_cols / unit) * sizeof(IntUnit) : 0;
  return std::max(fast, static_cast<size_t>(n_cols) * sizeof(float));
}

void scalar_dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  reference_kernels(type).dequantize_row(src, dst, n);
}

float scalar_dot_f32(const float* a, const float* b, int64_t n) { return dot_f32(a, b, n); }
void scalar_axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
void scalar_scale_f32(float a, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= a;
}

constexpr LevelOps kScalarOps = {
    "scalar", 0, INT64_MAX, &scalar_exact_rows, &scalar_fast_rows, nullptr, &scalar_scratch_bytes,
    &scalar_dequantize_row, 1, &quantize_activation_row, &scalar_dot_f32, &scalar_axpy_f32, &scalar_scale_f32,
};

}  // namespace

const LevelOps& scalar_ops() { return kScalarOps; }

int64_t activation_unit(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q8_0:
      return kBlockValues;
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return kSuperBlockValues;
    default:
      return 0;
  }
}

void quantize_activation_row(const float* x, int64_t n, int64_t unit, int8_t* q, float* d,
                             int16_t* sums16, float* sa) {
  // Exactly llama.cpp's activation quantization on x86 (its SIMD quantize_row_q8_0 / q8_1 /
  // q8_K), so that the Fast products make llama.cpp's rounding decisions: its accuracy is the
  // yardstick of the golden tests, and matching it measured as a KL ratio of 0.9..1.4 against
  // it, where an 8-bit scheme of our own (fp32 block scales) landed up to 3x off on one case.
  // - 32-value blocks (q8_0 / q8_1): d = amax / 127 rounded to half precision, q =
  //   nearest_even(x * (127 / amax)); sa = half(unrounded d * sum of q).
  // - 256-value blocks (q8_K): iscale = 127 / amax (up to the sign, which cancels), q =
  //   nearest_even(x * iscale), d = 1 / iscale in float.
  for (int64_t u = 0; u < n / unit; ++u, x += unit, q += unit) {
    float amax = 0.0f;
    for (int64_t i = 0; i < unit; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float iscale = amax != 0.0f ? 127.f / amax : 0.0f;
    for (int64_t i = 0; i < unit; ++i)
      q[i] = static_cast<int8_t>(std::clamp(nearest_even(iscale * x[i]), -127, 127));
    int32_t total = 0;
    for (int64_t j = 0; j < unit / 16; ++j) {
      int32_t s = 0;
      for (int i = 0; i < 16; ++i) s += q[16 * j + i];
      sums16[u * (unit / 16) + j] = static_cast<int16_t>(s);
      total += s;
    }
    if (unit == 32) {
      const float scale = amax / 127.f;
      d[u] = fp16_to_fp32(fp32_to_fp16(scale));
      if (sa) sa[u] = fp16_to_fp32(fp32_to_fp16(scale * static_cast<float>(total)));
    } else {
      d[u] = amax != 0.0f ? 1.0f / iscale : 0.0f;
    }
  }
}

void fill_token_lanes(const Q8Activations& x, int lanes, int64_t group_begin, int64_t group_end,
                      uint8_t* q_out, float* d_out, float* sa_out, int32_t* pairs_out) {
  const int64_t n = x.n, n_units = n / x.unit, n_pairs = n / 32;
  for (int64_t g = group_begin; g < group_end; ++g) {
    uint8_t* qg = q_out + g * n * lanes;
    float* dg = d_out + g * n_units * lanes;
    float* sag = sa_out ? sa_out + g * n_units * lanes : nullptr;
    int32_t* pg = pairs_out ? pairs_out + g * n_pairs * lanes : nullptr;
    for (int l = 0; l < lanes; ++l) {
      const int64_t t = g * lanes + l;
      const bool real = t < x.n_tokens;
      const int8_t* qt = x.q + t * n;
      for (int64_t k = 0; k < n / 4; ++k) {
        uint32_t word = 0x80808080u;  // padding tokens: q = 0
        if (real) {
          std::memcpy(&word, qt + 4 * k, 4);
          word ^= 0x80808080u;  // q + 128
        }
        std::memcpy(qg + (k * lanes + l) * 4, &word, 4);
      }
      for (int64_t u = 0; u < n_units; ++u) {
        dg[u * lanes + l] = real ? x.d[t * n_units + u] : 0.0f;
        if (sag) sag[u * lanes + l] = real ? x.sa[t * n_units + u] : 0.0f;
      }
      if (pg) {
        for (int64_t p = 0; p < n_pairs; ++p) {
          uint32_t pair = 0;
          if (real) {
            const int16_t* s = x.sums16 + t * (n / 16) + 2 * p;
            pair = static_cast<uint16_t>(s[0]) | static_cast<uint32_t>(static_cast<uint16_t>(s[1])) << 16;
          }
          pg[p * lanes + l] = static_cast<int32_t>(pair);
        }
      }
    }
  }
}

}  // namespace smoe::kernel_impl

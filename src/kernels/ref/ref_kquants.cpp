// Reference kernels of the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (256-value super-blocks with
// quantized per-group scales). Dequantization performs exactly ggml's float operations in ggml's
// order; the quantizers are llama.cpp's quantize_row_*_ref (the path llama-quantize takes without
// an importance matrix), built on the searches of kquant_search.cpp.
#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/kquant_search.h"
#include "kernels/ref/ref_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace smoe::ref {
namespace {

constexpr int kQK = kSuperBlockValues;

// Packs 2-bit levels L[0..256) the way Q2_K and Q3_K store them: byte l of each 32-byte run
// holds elements l, l + 32, l + 64, l + 96 of its 128-value half, lowest bits first.
void pack_2bit_levels(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
}

// Stores eight 6-bit (scale, min) pairs in Q4_K / Q5_K's 12 bytes (inverse of q4k_scale_min).
void pack_q4k_scales(const uint8_t* ls, const uint8_t* lm, uint8_t* scales) {
  for (int j = 0; j < kQK / 32; ++j) {
    if (j < 4) {
      scales[j] = ls[j];
      scales[j + 4] = lm[j];
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      scales[j - 0] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// The 4/5-bit levels of a Q4_K / Q5_K super-block once its scales are final: each value is
// re-rounded against the scale and min it will actually be decoded with.
void requantize_with_q4k_scales(const float* x, uint16_t d_half, uint16_t dmin_half,
                                const uint8_t* scales, int nmax, uint8_t* L) {
  for (int j = 0; j < kQK / 32; ++j) {
    const ScaleMin sm = q4k_scale_min(j, scales);
    const float d = fp16_to_fp32(d_half) * static_cast<float>(sm.scale);
    if (d == 0.0f) continue;
    const float dm = fp16_to_fp32(dmin_half) * static_cast<float>(sm.min);
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// The first half of Q4_K / Q5_K quantization: per group of 32, an asymmetric fit weighted by
// av_x + |x|, then the eight scales and mins quantized to 6 bits against their maxima.
void quantize_q4k_style_scales(const float* x, int nmax, float rmin, float rdelta, int nstep,
                               uint8_t* L, uint8_t* packed_scales, uint16_t* d_half,
                               uint16_t* dmin_half) {
  uint8_t Laux[32];
  float weights[32];
  float mins[kQK / 32];
  float scales[kQK / 32];
  float max_scale = 0;  // as the min is subtracted, scales are positive
  float max_min = 0;
  for (int j = 0; j < kQK / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin,
                                 rdelta, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[kQK / 32];
  uint8_t lm[kQK / 32];
  for (int j = 0; j < kQK / 32; ++j) {
    // Through uint8_t first, as ggml does (a negative scale wraps, then saturates at 63).
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  std::memset(packed_scales, 0, kKScaleBytes);
  pack_q4k_scales(ls, lm, packed_scales);
  *d_half = fp32_to_fp16(max_scale / 63.f);
  *dmin_half = fp32_to_fp16(max_min / 63.f);
}

}  // namespace

// ---------------------------------------------------------------------------------------- Q2_K

void dequantize_row_q2_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ2_K block = load_block<BlockQ2_K>(src, b);
    const float d = fp16_to_fp32(block.d);
    const float min = fp16_to_fp32(block.dmin);
    const uint8_t* q = block.qs;
    int group = 0;
    for (int half = 0; half < kQK; half += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part) {  // groups of 16 use bytes 0..15, then 16..31
          const uint8_t sc = block.scales[group++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = min * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l)
            *dst++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

float dot_row_q2_k(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q2_k, kQK, sizeof(BlockQ2_K)>(w, x, n);
}

void quantize_row_q2_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ2_K*>(dst);
  const float q4scale = 15.f;
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockQ2_K& y = blocks[b];
    const float* x = src;
    uint8_t L[kQK];
    uint8_t Laux[16];
    float weights[16];
    float mins[kQK / 16];
    float scales[kQK / 16];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kQK / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                   0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < kQK / 16; ++j)
        y.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
      y.d = fp32_to_fp16(max_scale / q4scale);
    } else {
      for (int j = 0; j < kQK / 16; ++j) y.scales[j] = 0;
      y.d = fp32_to_fp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < kQK / 16; ++j)
        y.scales[j] |= static_cast<uint8_t>(nearest_int(iscale * mins[j]) << 4);
      y.dmin = fp32_to_fp16(max_min / q4scale);
    } else {
      y.dmin = fp32_to_fp16(0.f);
    }
    // Re-round every value against the 4-bit scale and min it will be decoded with.
    for (int j = 0; j < kQK / 16; ++j) {
      const float d = fp16_to_fp32(y.d) * static_cast<float>(y.scales[j] & 0xF);
      if (d == 0.0f) continue;
      const float dm = fp16_to_fp32(y.dmin) * static_cast<float>(y.scales[j] >> 4);
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int((x[16 * j + ii] + dm) / d);
        L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
      }
    }
    pack_2bit_levels(L, y.qs);
  }
}

// ---------------------------------------------------------------------------------------- Q3_K

void dequantize_row_q3_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ3_K block = load_block<BlockQ3_K>(src, b);
    const float d_all = fp16_to_fp32(block.d);
    const uint8_t* q = block.qs;
    int group = 0;
    uint8_t high_bit = 1;
    for (int half = 0; half < kQK; half += 128, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, high_bit <<= 1) {
        for (int part = 0; part < 2; ++part) {
          const float dl = d_all * static_cast<float>(q3k_scale(group++, block.scales) - 32);
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            // A clear high bit means the 2-bit level is shifted down by 4 (levels -4..3).
            const int level = ((q[l] >> shift) & 3) - ((block.hmask[l] & high_bit) ? 0 : 4);
            *dst++ = dl * static_cast<float>(level);
          }
        }
      }
    }
  }
}

float dot_row_q3_k(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q3_k, kQK, sizeof(BlockQ3_K)>(w, x, n);
}

void quantize_row_q3_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockQ3_K& y = blocks[b];
    const float* x = src;
    int8_t L[kQK];
    float scales[kQK / 16];
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < kQK / 16; ++j) {
      scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    std::memset(y.scales, 0, sizeof(y.scales));
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < kQK / 16; ++j) {
        int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
        l = static_cast<int8_t>(std::max<int>(-32, std::min<int>(31, l)) + 32);
        if (j < 8)
          y.scales[j] = static_cast<uint8_t>(l & 0xF);
        else
          y.scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        l = static_cast<int8_t>(l >> 4);
        y.scales[j % 4 + 8] |= static_cast<uint8_t>(l << (2 * (j / 4)));
      }
      y.d = fp32_to_fp16(1 / iscale);
    } else {
      y.d = fp32_to_fp16(0.f);
    }
    for (int j = 0; j < kQK / 16; ++j) {
      const int sc = q3k_scale(j, y.scales) - 32;
      const float d = fp16_to_fp32(y.d) * static_cast<float>(sc);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
      }
    }
    // The high bit of element j goes to hmask[j % 32], bit j / 32; qs keeps the low 2 bits.
    std::memset(y.hmask, 0, sizeof(y.hmask));
    uint8_t levels[kQK];
    for (int j = 0; j < kQK; ++j) {
      int level = L[j];
      if (level > 3) {
        y.hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
        level -= 4;
      }
      levels[j] = static_cast<uint8_t>(level);
    }
    pack_2bit_levels(levels, y.qs);
  }
}

// ---------------------------------------------------------------------------------------- Q4_K

void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ4_K block = load_block<BlockQ4_K>(src, b);
    const float d = fp16_to_fp32(block.d);
    const float min = fp16_to_fp32(block.dmin);
    const uint8_t* q = block.qs;
    for (int group = 0; group < kQK / 32; group += 2, q += 32) {
      const ScaleMin low = q4k_scale_min(group, block.scales);
      const ScaleMin high = q4k_scale_min(group + 1, block.scales);
      const float d1 = d * static_cast<float>(low.scale);
      const float m1 = min * static_cast<float>(low.min);
      const float d2 = d * static_cast<float>(high.scale);
      const float m2 = min * static_cast<float>(high.min);
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

float dot_row_q4_k(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q4_k, kQK, sizeof(BlockQ4_K)>(w, x, n);
}

void quantize_row_q4_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_K*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockQ4_K& y = blocks[b];
    uint8_t L[kQK];
    quantize_q4k_style_scales(src, 15, -1.f, 0.1f, 20, L, y.scales, &y.d, &y.dmin);
    requantize_with_q4k_scales(src, y.d, y.dmin, y.scales, 15, L);
    uint8_t* q = y.qs;
    for (int j = 0; j < kQK; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
  }
}

// ---------------------------------------------------------------------------------------- Q5_K

void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ5_K block = load_block<BlockQ5_K>(src, b);
    const float d = fp16_to_fp32(block.d);
    const float min = fp16_to_fp32(block.dmin);
    const uint8_t* ql = block.qs;
    const uint8_t* qh = block.qh;
    uint8_t u1 = 1, u2 = 2;
    for (int group = 0; group < kQK / 32; group += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
      const ScaleMin low = q4k_scale_min(group, block.scales);
      const ScaleMin high = q4k_scale_min(group + 1, block.scales);
      const float d1 = d * static_cast<float>(low.scale);
      const float m1 = min * static_cast<float>(low.min);
      const float d2 = d * static_cast<float>(high.scale);
      const float m2 = min * static_cast<float>(high.min);
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

float dot_row_q5_k(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q5_k, kQK, sizeof(BlockQ5_K)>(w, x, n);
}

void quantize_row_q5_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_K*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockQ5_K& y = blocks[b];
    uint8_t L[kQK];
    quantize_q4k_style_scales(src, 31, -0.5f, 0.1f, 15, L, y.scales, &y.d, &y.dmin);
    requantize_with_q4k_scales(src, y.d, y.dmin, y.scales, 31, L);
    std::memset(y.qh, 0, sizeof(y.qh));
    uint8_t* ql = y.qs;
    uint8_t m1 = 1, m2 = 2;
    for (int j = 0; j < kQK; j += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
      for (int l = 0; l < 32; ++l) {
        int l1 = L[j + l];
        if (l1 > 15) {
          l1 -= 16;
          y.qh[l] |= m1;
        }
        int l2 = L[j + l + 32];
        if (l2 > 15) {
          l2 -= 16;
          y.qh[l] |= m2;
        }
        ql[l] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------- Q6_K

void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ6_K block = load_block<BlockQ6_K>(src, b);
    const float d = fp16_to_fp32(block.d);
    // ggml computes d * scale * q as (d * scale) * q: the per-group products are hoisted out of
    // the element loop (same value, and the loop over 16 elements then vectorizes).
    float group_scale[kQK / 16];
    for (int g = 0; g < kQK / 16; ++g) group_scale[g] = d * static_cast<float>(block.scales[g]);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = block.ql + 64 * half;
      const uint8_t* qh = block.qh + 32 * half;
      for (int k = 0; k < 4; ++k) {  // the four 32-value quarters of this half
        const uint8_t* low_bytes = ql + 32 * (k % 2);
        const int low_shift = 4 * (k / 2);
        for (int part = 0; part < 2; ++part) {  // two groups of 16 with their own scale
          const float scale = group_scale[8 * half + 2 * k + part];
          float* out = dst + 128 * half + 32 * k + 16 * part;
          for (int l = 16 * part; l < 16 * part + 16; ++l) {
            const int low = (low_bytes[l] >> low_shift) & 0xF;
            const int high = (qh[l] >> (2 * k)) & 3;
            out[l - 16 * part] = scale * static_cast<float>((low | (high << 4)) - 32);
          }
        }
      }
    }
    dst += kQK;
  }
}

float dot_row_q6_k(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q6_k, kQK, sizeof(BlockQ6_K)>(w, x, n);
}

void quantize_row_q6_k(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ6_K*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    BlockQ6_K& y = blocks[b];
    const float* x = src;
    int8_t L[kQK];
    float scales[kQK / 16];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < kQK / 16; ++ib) {
      const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1, nullptr);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y, 0, sizeof(y));
      y.d = fp32_to_fp16(0.f);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y.d = fp32_to_fp16(1 / iscale);
    for (int ib = 0; ib < kQK / 16; ++ib)
      y.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < kQK / 16; ++j) {
      const float d = fp16_to_fp32(y.d) * static_cast<float>(y.scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        const int l = nearest_int(x[16 * j + ii] / d);
        L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
      }
    }
    uint8_t* ql = y.ql;
    uint8_t* qh = y.qh;
    for (int j = 0; j < kQK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                     ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace smoe::ref

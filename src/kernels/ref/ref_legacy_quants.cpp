// Reference kernels of the 32-value block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0. Dequantization
// performs exactly ggml's float operations (int -> float, multiply by the half scale, add the
// half offset); the quantizers reproduce llama.cpp's quantize_row_*_ref, including their
// particular rounding (truncation after +0.5 / +8.5 / +16.5 for the 4/5-bit types, roundf for
// Q8_0), so files written by smoe match llama.cpp's byte for byte.
#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/ref_kernels.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace smoe::ref {
namespace {

constexpr int kHalf = kBlockValues / 2;

uint32_t load_qh(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof(bits));
  return bits;
}

// The value with the largest magnitude (the first one on ties), as the symmetric quantizers use
// it: its sign decides the sign of d so that this value lands exactly on the -8 / -16 end.
float signed_absmax(const float* x) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < kBlockValues; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

}  // namespace

// ---------------------------------------------------------------------------------------- Q4_0

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kBlockValues; ++b, dst += kBlockValues) {
    const BlockQ4_0 block = load_block<BlockQ4_0>(src, b);
    const float d = fp16_to_fp32(block.d);
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>((block.qs[j] & 0x0F) - 8) * d;
      dst[j + kHalf] = static_cast<float>((block.qs[j] >> 4) - 8) * d;
    }
  }
}

float dot_row_q4_0(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q4_0, kBlockValues, sizeof(BlockQ4_0)>(w, x, n);
}

void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_0*>(dst);
  for (int64_t b = 0; b < n / kBlockValues; ++b, src += kBlockValues) {
    const float d = signed_absmax(src) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kHalf; ++j) {
      // ggml truncates through int8_t after adding 8.5 (round half up, in the shifted range).
      const int q0 = std::min<int>(15, static_cast<int8_t>(src[j] * id + 8.5f));
      const int q1 = std::min<int>(15, static_cast<int8_t>(src[j + kHalf] * id + 8.5f));
      blocks[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// ---------------------------------------------------------------------------------------- Q4_1

void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kBlockValues; ++b, dst += kBlockValues) {
    const BlockQ4_1 block = load_block<BlockQ4_1>(src, b);
    const float d = fp16_to_fp32(block.d);
    const float m = fp16_to_fp32(block.m);
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>(block.qs[j] & 0x0F) * d + m;
      dst[j + kHalf] = static_cast<float>(block.qs[j] >> 4) * d + m;
    }
  }
}

float dot_row_q4_1(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q4_1, kBlockValues, sizeof(BlockQ4_1)>(w, x, n);
}

void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_1*>(dst);
  for (int64_t b = 0; b < n / kBlockValues; ++b, src += kBlockValues) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kBlockValues; ++j) {
      if (src[j] < min) min = src[j];
      if (src[j] > max) max = src[j];
    }
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    blocks[b].m = fp32_to_fp16(min);
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = std::min<int>(15, static_cast<int8_t>((src[j] - min) * id + 0.5f));
      const int q1 = std::min<int>(15, static_cast<int8_t>((src[j + kHalf] - min) * id + 0.5f));
      blocks[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// ---------------------------------------------------------------------------------------- Q5_0

void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kBlockValues; ++b, dst += kBlockValues) {
    const BlockQ5_0 block = load_block<BlockQ5_0>(src, b);
    const float d = fp16_to_fp32(block.d);
    const uint32_t qh = load_qh(block.qh);
    for (int j = 0; j < kHalf; ++j) {
      const int high0 = ((qh >> j) & 1u) << 4;
      const int high1 = ((qh >> (j + kHalf)) & 1u) << 4;
      dst[j] = static_cast<float>(((block.qs[j] & 0x0F) | high0) - 16) * d;
      dst[j + kHalf] = static_cast<float>(((block.qs[j] >> 4) | high1) - 16) * d;
    }
  }
}

float dot_row_q5_0(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q5_0, kBlockValues, sizeof(BlockQ5_0)>(w, x, n);
}

void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_0*>(dst);
  for (int64_t b = 0; b < n / kBlockValues; ++b, src += kBlockValues) {
    const float d = signed_absmax(src) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int q0 = std::min<int>(31, static_cast<int8_t>(src[j] * id + 16.5f));
      const int q1 = std::min<int>(31, static_cast<int8_t>(src[j + kHalf] * id + 16.5f));
      blocks[b].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + kHalf);
    }
    std::memcpy(blocks[b].qh, &qh, sizeof(qh));
  }
}

// ---------------------------------------------------------------------------------------- Q5_1

void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kBlockValues; ++b, dst += kBlockValues) {
    const BlockQ5_1 block = load_block<BlockQ5_1>(src, b);
    const float d = fp16_to_fp32(block.d);
    const float m = fp16_to_fp32(block.m);
    const uint32_t qh = load_qh(block.qh);
    for (int j = 0; j < kHalf; ++j) {
      const int high0 = ((qh >> j) & 1u) << 4;
      const int high1 = ((qh >> (j + kHalf)) & 1u) << 4;
      dst[j] = static_cast<float>((block.qs[j] & 0x0F) | high0) * d + m;
      dst[j + kHalf] = static_cast<float>((block.qs[j] >> 4) | high1) * d + m;
    }
  }
}

float dot_row_q5_1(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q5_1, kBlockValues, sizeof(BlockQ5_1)>(w, x, n);
}

void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_1*>(dst);
  for (int64_t b = 0; b < n / kBlockValues; ++b, src += kBlockValues) {
    float min = FLT_MAX;
    float max = -FLT_MAX;
    for (int j = 0; j < kBlockValues; ++j) {
      if (src[j] < min) min = src[j];
      if (src[j] > max) max = src[j];
    }
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    blocks[b].m = fp32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      // No clamp here, as in ggml: (max - min) * id + 0.5 stays below 32.
      const int q0 = static_cast<uint8_t>((src[j] - min) * id + 0.5f);
      const int q1 = static_cast<uint8_t>((src[j + kHalf] - min) * id + 0.5f);
      blocks[b].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + kHalf);
    }
    std::memcpy(blocks[b].qh, &qh, sizeof(qh));
  }
}

// ---------------------------------------------------------------------------------------- Q8_0

void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  for (int64_t b = 0; b < n / kBlockValues; ++b, dst += kBlockValues) {
    const BlockQ8_0 block = load_block<BlockQ8_0>(src, b);
    const float d = fp16_to_fp32(block.d);
    for (int j = 0; j < kBlockValues; ++j) dst[j] = static_cast<float>(block.qs[j]) * d;
  }
}

float dot_row_q8_0(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_q8_0, kBlockValues, sizeof(BlockQ8_0)>(w, x, n);
}

void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kBlockValues; ++b, src += kBlockValues) {
    float amax = 0.0f;
    for (int j = 0; j < kBlockValues; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kBlockValues; ++j)
      blocks[b].qs[j] = static_cast<int8_t>(std::round(src[j] * id));  // half away from zero
  }
}

}  // namespace smoe::ref

// Reference kernels of the unquantized types F32, F16 and BF16. "Quantizing" is conversion with
// round-to-nearest-even, as ggml's row converters do.
#include "kernels/fp16.h"
#include "kernels/ref/ref_kernels.h"

#include <cstring>

namespace smoe::ref {

void dequantize_row_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

float dot_row_f32(const void* w, const float* x, int64_t n) {
  return dot_f32(static_cast<const float*>(w), x, n);
}

void quantize_row_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

namespace {
// The i-th 16-bit value of a row that may start at an odd address (safetensors data offsets are
// free): memcpy, since reading a misaligned uint16_t is undefined behaviour.
uint16_t half_at(const void* row, int64_t i) {
  uint16_t h;
  std::memcpy(&h, static_cast<const uint8_t*>(row) + 2 * i, 2);
  return h;
}
}  // namespace

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(half_at(src, i));
}

float dot_row_f16(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_f16, 1, 2>(w, x, n);
}

void quantize_row_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(half_at(src, i));
}

float dot_row_bf16(const void* w, const float* x, int64_t n) {
  return dot_by_dequantizing<dequantize_row_bf16, 1, 2>(w, x, n);
}

void quantize_row_bf16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

}  // namespace smoe::ref

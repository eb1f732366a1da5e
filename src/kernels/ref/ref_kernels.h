// The scalar reference kernels of every computable type (internal to src/kernels: the rest of
// the engine reaches them through kernels.h's tables). One family per source file:
// ref_float.cpp (F32, F16, BF16), ref_legacy_quants.cpp (Q4_0 .. Q8_0), ref_kquants.cpp (Q2_K ..
// Q6_K, with the quantizers' searches in kquant_search.cpp).
#pragma once

#include "kernels/vec.h"

#include <cstddef>
#include <cstdint>

namespace smoe::ref {

#define SMOE_DECLARE_REF_KERNELS(suffix)                                    \
  void dequantize_row_##suffix(const void* src, float* dst, int64_t n);     \
  float dot_row_##suffix(const void* w, const float* x, int64_t n);         \
  void quantize_row_##suffix(const float* src, void* dst, int64_t n);

SMOE_DECLARE_REF_KERNELS(f32)
SMOE_DECLARE_REF_KERNELS(f16)
SMOE_DECLARE_REF_KERNELS(bf16)
SMOE_DECLARE_REF_KERNELS(q4_0)
SMOE_DECLARE_REF_KERNELS(q4_1)
SMOE_DECLARE_REF_KERNELS(q5_0)
SMOE_DECLARE_REF_KERNELS(q5_1)
SMOE_DECLARE_REF_KERNELS(q8_0)
SMOE_DECLARE_REF_KERNELS(q2_k)
SMOE_DECLARE_REF_KERNELS(q3_k)
SMOE_DECLARE_REF_KERNELS(q4_k)
SMOE_DECLARE_REF_KERNELS(q5_k)
SMOE_DECLARE_REF_KERNELS(q6_k)

#undef SMOE_DECLARE_REF_KERNELS

// dot_row by dequantizing a chunk of whole blocks at a time into a small stack buffer and
// feeding it to a DotAccumulator. Chunks hold a multiple of kDotLanes values (only the last may
// be shorter), so the result is bit-identical to dot_f32(dequantized row, x, n): the property
// matvec == matmat rests on.
template <void (*Dequantize)(const void*, float*, int64_t), int64_t kValuesPerBlock,
          size_t kBytesPerBlock>
float dot_by_dequantizing(const void* w, const float* x, int64_t n) {
  constexpr int64_t kChunk = kValuesPerBlock >= 256 ? kValuesPerBlock : 256;
  static_assert(kChunk % kValuesPerBlock == 0 && kChunk % kDotLanes == 0);
  alignas(64) float buffer[kChunk];
  const auto* bytes = static_cast<const uint8_t*>(w);
  DotAccumulator acc;
  int64_t i = 0;
  for (; i + kChunk <= n; i += kChunk) {
    Dequantize(bytes + static_cast<size_t>(i / kValuesPerBlock) * kBytesPerBlock, buffer, kChunk);
    acc.add(buffer, x + i, kChunk);
  }
  const int64_t rest = n - i;
  if (rest > 0)
    Dequantize(bytes + static_cast<size_t>(i / kValuesPerBlock) * kBytesPerBlock, buffer, rest);
  return acc.finish(buffer, x + i, rest);
}

}  // namespace smoe::ref

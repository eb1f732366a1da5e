// The kernel interface: one table of functions per weight type. The forward pass calls only
// these entry points, so SIMD variants (chosen once at start-up from the CPU's features) can
// replace the scalar references without touching the model code.
//
// Conventions: a weight matrix W of a given type has n_rows rows of n_cols values, each row
// stored contiguously as row_bytes(type, n_cols) bytes (ggml's ne0 = n_cols, ne1 = n_rows).
// Activations are float32. n_cols is always a multiple of the type's block size.
#pragma once

#include "kernels/ggml_type.h"

#include <cstddef>
#include <cstdint>

namespace smoe {

struct TypeKernels {
  GgmlType type;
  // dst[0..n) = the values of one row of n weights.
  void (*dequantize_row)(const void* src, float* dst, int64_t n);
  // Returns sum_i w[i] * x[i] over one row of n weights (float32 accumulation). Must be
  // bit-identical to dot_f32(dequantized row, x, n) (kernels/vec.h): matmat computes it that
  // way, and prefill (matmat) must equal incremental decoding (matvec).
  float (*dot_row)(const void* w, const float* x, int64_t n);
  // Reference quantizer: dst = quantized src[0..n), as llama.cpp's *_ref quantizers produce.
  // nullptr for types without one.
  void (*quantize_row)(const float* src, void* dst, int64_t n);
};

// The scalar reference kernels of a type; throws smoe::Error for a type smoe cannot compute.
const TypeKernels& reference_kernels(GgmlType type);
// The kernels in use (the fastest variant this CPU supports).
const TypeKernels& kernels_for(GgmlType type);

// y[r] = dot(W row r, x) for r in [0, n_rows). Multi-threaded over rows.
void matvec(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x, float* y);

// Y[t * n_rows + r] = dot(W row r, X[t * n_cols ..]) for t in [0, n_tokens): each weight row is
// read once for all tokens (the access pattern that makes prefill and batches efficient).
void matmat(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x,
            int64_t n_tokens, float* y);

}  // namespace smoe

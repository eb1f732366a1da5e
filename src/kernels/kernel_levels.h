// Internal to src/kernels: the contract between the dispatcher (kernels.cpp, which owns threads,
// scratch memory and the activation buffers) and the per-instruction-set implementations
// (ref/ref_fast.cpp for the scalar level, x86/avx2_kernels.cpp, x86/avx512_kernels.cpp).
//
// This header holds declarations and plain structs only, no inline code: the x86 files are
// compiled with -mavx2 / -mavx512*, and any inline function or template they shared with the
// rest of the engine could be emitted with those instructions and picked by the linker for
// every caller (a crash on CPUs without them).
//
// The Fast precision's arithmetic, which every level reproduces bit for bit:
//   activations: per token, units of U values (U = 32 for Q4_0..Q8_0, 256 for the K-quants) are
//     quantized to int8 q = nearest_even(x * 127 / amax) with a float scale d, exactly as
//     llama.cpp's q8_0 / q8_1 / q8_K (see quantize_activation_row), with the sums of q over
//     every 16 values (sums16) and, for U = 32, sa (q8_1's s: d times the sum of q).
//   weights: every value is an integer level w (the type's quant minus its offset) times an
//     integer scale sc of its 16-value group (1 for U = 32), minus an integer min mn of the group
//     (Q2_K, Q4_K, Q5_K), with float factors per unit: dw (and dmin, or m for Q4_1 / Q5_1).
//   per weight row and token, over the units in order, starting from acc = 0.0f:
//     isum = sum_i sc(i) * w_i * q_i        msum = sum_j mn_j * sums16_j       (exact integers)
//     acc = acc + (float)isum * (dw * d)                                      (every type)
//     acc = acc - (float)msum * (dmin * d)                                    (Q2_K, Q4_K, Q5_K)
//     acc = acc + m * sa                                                      (Q4_1, Q5_1)
//   with separate float multiplies and adds (no FMA). The integers are exact in any order, so
//   matvec, matmat and every tile shape, thread count and level give the same bits.
#pragma once

#include "kernels/ggml_type.h"

#include <cstddef>
#include <cstdint>

namespace smoe::kernel_impl {

// Activations of one product quantized for the Fast precision (token-major, see above).
struct Q8Activations {
  const int8_t* q = nullptr;         // q[t * n + i]
  const float* d = nullptr;          // d[t * n_units + u]
  const int16_t* sums16 = nullptr;   // sums16[t * (n / 16) + j]
  const float* sa = nullptr;         // sa[t * n_units + u] (U = 32 only)
  int64_t n = 0;                     // values per token
  int64_t n_tokens = 0;
  int64_t unit = 0;                  // 32 or 256
};

// The same activations rearranged for the token-parallel kernels of a level with `lanes` int32
// lanes per vector: tokens are taken in groups of `lanes` (the last group padded with zeros), and
// within a group the four quantized values k..k+3 of every token form one 32-bit word, biased to
// unsigned (q + 128), words ordered [k / 4][token] so that one vector load covers all tokens.
struct TokenLanes {
  const uint8_t* q = nullptr;        // group g: q + g * n * lanes, word (k / 4) * lanes + token
  const float* d = nullptr;          // d[(g * n_units + u) * lanes + token]
  const float* sa = nullptr;         // as d (U = 32 only)
  const int32_t* sum_pairs = nullptr;  // [(g * n / 32 + p) * lanes + token]: sums16 2p, 2p+1
                                       // as two int16 (low = 2p)
  int64_t n = 0;
  int64_t n_tokens = 0;
  int64_t unit = 0;
  int lanes = 0;
};

// A weight matrix: n_rows rows of n_cols values, row r at w + r * stride.
struct Matrix {
  GgmlType type;
  const uint8_t* w;
  size_t stride;
  int64_t n_cols;
};

// The kernels of one instruction-set level. Rows [row_begin, row_end) are computed, for all
// tokens; y[t * ldy + r]. `scratch` is per-thread memory of scratch_bytes(...) bytes, 64-aligned.
struct LevelOps {
  const char* name;
  // int32 lanes per vector (token-parallel kernels); 0: the level has no token-parallel kernel.
  int lanes;
  // From this many tokens on, fast products use the token-parallel kernel (TokenLanes input).
  int64_t min_tokens_for_lanes;
  // Float products (Exact precision, and F32 / F16 / BF16 weights in both precisions).
  void (*exact_rows)(const Matrix& m, int64_t row_begin, int64_t row_end, const float* x,
                     int64_t n_tokens, float* y, int64_t ldy, void* scratch);
  // Fast products of quantized types, one or a few tokens (weights unpacked once per tile).
  void (*fast_rows)(const Matrix& m, int64_t row_begin, int64_t row_end, const Q8Activations& x,
                    int64_t token_begin, int64_t token_end, float* y, int64_t ldy, void* scratch);
  // Fast products of quantized types, many tokens (nullptr when lanes == 0).
  void (*fast_rows_lanes)(const Matrix& m, int64_t row_begin, int64_t row_end, const TokenLanes& x,
                          float* y, int64_t ldy, void* scratch);
  size_t (*scratch_bytes)(GgmlType type, int64_t n_cols, int64_t n_tokens);
  // Exact dequantization (bit-identical to the reference's).
  void (*dequantize_row)(GgmlType type, const void* src, float* dst, int64_t n);
  // Rows per unit of work: thread partitions are multiples of it.
  int64_t row_tile;
  // quantize_activation_row, bit for bit.
  void (*quantize_row)(const float* x, int64_t n, int64_t unit, int8_t* q, float* d,
                       int16_t* sums16, float* sa);
  // Float vector primitives (kernels.h, FloatVectorOps), bit-identical on every level.
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  void (*axpy_f32)(float a, const float* x, float* y, int64_t n);
  void (*scale_f32)(float a, float* y, int64_t n);
};

const LevelOps& scalar_ops();
const LevelOps& avx2_ops();
const LevelOps& avx512_ops();

// Activation quantization (portable code, identical on every level).
void quantize_activation_row(const float* x, int64_t n, int64_t unit, int8_t* q, float* d,
                             int16_t* sums16, float* sa);
// Rearranges tokens [group_begin * lanes, group_end * lanes) of x into `out` (see TokenLanes).
void fill_token_lanes(const Q8Activations& x, int lanes, int64_t group_begin, int64_t group_end,
                      uint8_t* q, float* d, float* sa, int32_t* sum_pairs);

// Weight-type facts of the Fast arithmetic.
int64_t activation_unit(GgmlType type);  // 32, 256, or 0 for float types (no quantization)

}  // namespace smoe::kernel_impl

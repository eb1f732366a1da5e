// The kernel interface: one table of functions per weight type. The forward pass calls only
// these entry points, so SIMD variants (chosen once at start-up from the CPU's features) can
// replace the scalar references without touching the model code.
//
// Conventions: a weight matrix W of a given type has n_rows rows of n_cols values, each row
// stored contiguously as row_bytes(type, n_cols) bytes (ggml's ne0 = n_cols, ne1 = n_rows).
// Activations are float32. n_cols is always a multiple of the type's block size.
//
// Two process-wide settings choose how products are computed (kernel_levels.h has the details):
// - the instruction-set level (scalar, AVX2, AVX-512), by default the best the CPU supports;
//   environment variable SMOE_KERNELS=scalar|avx2|avx512 forces one (an error if the CPU lacks it);
// - the precision: Exact (weights dequantized exactly, float32 products) or Fast (activations
//   quantized per token to 8 bits in units of 32 or 256 values, integer dot products, as
//   llama.cpp does); environment variable SMOE_PRECISION=exact|fast. F32 / F16 / BF16 weights
//   always take the float path.
// Whatever the settings, matvec and matmat give the same bits for the same row and token, for any
// batch and thread count (prefill equals incremental decoding). Results differ between levels
// in Exact precision (vector widths change the summation order) and for float weights; Fast
// products of quantized weights are the same bits on every level (exact integer dot products,
// float steps specified in kernel_levels.h).
#pragma once

#include "kernels/ggml_type.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace smoe {

struct TypeKernels {
  GgmlType type;
  // dst[0..n) = the values of one row of n weights.
  void (*dequantize_row)(const void* src, float* dst, int64_t n);
  // Returns sum_i w[i] * x[i] over one row of n weights. In reference_kernels() it is
  // bit-identical to dot_f32(dequantized row, x, n) (kernels/vec.h); in kernels_for() it equals
  // what matvec computes for that row under the current level and precision.
  float (*dot_row)(const void* w, const float* x, int64_t n);
  // Reference quantizer: dst = quantized src[0..n), as llama.cpp's *_ref quantizers produce.
  // nullptr for types without one.
  void (*quantize_row)(const float* src, void* dst, int64_t n);
};

// The scalar reference kernels of a type; throws smoe::Error for a type smoe cannot compute.
const TypeKernels& reference_kernels(GgmlType type);
// The kernels in use (current level and precision).
const TypeKernels& kernels_for(GgmlType type);

enum class KernelLevel : uint8_t { Scalar, Avx2, Avx512 };
enum class Precision : uint8_t { Exact, Fast };

std::string_view kernel_level_name(KernelLevel level);  // "scalar", "avx2", "avx512"
std::string_view precision_name(Precision precision);   // "exact", "fast"
std::optional<KernelLevel> parse_kernel_level(std::string_view name);
std::optional<Precision> parse_precision(std::string_view name);

// Whether this CPU (and the operating system, for AVX-512 state) supports a level: AVX2 needs
// AVX2 + FMA + F16C; AVX-512 needs F, BW, DQ, VL and VNNI.
bool kernel_level_supported(KernelLevel level);
KernelLevel best_kernel_level();
// The levels this machine can run, lowest first (for tests and benchmarks).
std::vector<KernelLevel> supported_kernel_levels();

// Process-wide settings, read from SMOE_KERNELS / SMOE_PRECISION at first use (throwing
// smoe::Error for a bad value or a level the CPU lacks). Setting them is meant for start-up,
// tests and benchmarks: it must not race with products running on other threads.
KernelLevel kernel_level();
void set_kernel_level(KernelLevel level);  // throws smoe::Error if the CPU lacks it
Precision kernel_precision();
void set_kernel_precision(Precision precision);
// The default precision when SMOE_PRECISION is not set: Fast, since every golden case passes
// with it (its activation quantization is llama.cpp's, and so is its accuracy: mean KL against
// the float64 ideal within 0.9..1.4x of llama.cpp's own). Exact keeps KL near 1e-12.
inline constexpr Precision kDefaultPrecision = Precision::Fast;

// y[r] = dot(W row r, x) for r in [0, n_rows). Multi-threaded over rows.
void matvec(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x, float* y);

// Y[t * n_rows + r] = dot(W row r, X[t * n_cols ..]) for t in [0, n_tokens): each weight row is
// read once for all tokens (the access pattern that makes prefill and batches efficient).
void matmat(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x,
            int64_t n_tokens, float* y);

// Activations prepared once for several products with weights of the same activation family
// (types whose Fast arithmetic quantizes activations the same way: Q4_0..Q8_0 share one, the
// K-quants another, float types need none): e.g. the gate and up matrices of an expert, or
// q / k / v. Under Exact precision it only refers to x, which must outlive it.
class PreparedActivations {
 public:
  PreparedActivations() = default;
  // Prepares x[0 .. n_tokens * n_cols) for weights of `type` under the current settings.
  void prepare(GgmlType type, const float* x, int64_t n_cols, int64_t n_tokens);
  int64_t n_cols() const { return n_cols_; }
  int64_t n_tokens() const { return n_tokens_; }

 private:
  friend void matmat_prepared(GgmlType, const void*, int64_t, int64_t, const PreparedActivations&,
                              float*);
  const float* x_ = nullptr;
  int64_t n_cols_ = 0, n_tokens_ = 0;
  int64_t unit_ = 0;  // 0: float activations
  KernelLevel level_ = KernelLevel::Scalar;
  Precision precision_ = Precision::Exact;
  int lanes_ = 0;     // token-lane layout present when > 0
  std::vector<int8_t> q_;
  std::vector<float> d_, sa_;
  std::vector<int16_t> sums16_;
  std::vector<uint8_t> lane_q_;
  std::vector<float> lane_d_, lane_sa_;
  std::vector<int32_t> lane_pairs_;
};

// Float32 vector primitives for the model code (attention), on the current level. Every level
// gives the same bits: dot is dot_f32 of kernels/vec.h (its fixed order), axpy and scale are
// element-wise single multiplies and adds (no FMA).
struct FloatVectorOps {
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y[i] += a * x[i]
  void (*scale)(float a, float* y, int64_t n);                 // y[i] *= a
};
FloatVectorOps float_vector_ops();

// matmat with prepared activations (same result as matmat on the original x). Throws
// smoe::Error if x was prepared for another activation family, shape or setting.
void matmat_prepared(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols,
                     const PreparedActivations& x, float* y);

}  // namespace smoe

// The kernel tables and the matrix products built on them. reference_kernels() is the scalar
// table; kernels_for() goes through a table chosen once per process (select_active_kernels), the
// single place where CPU-specific variants will replace entries, so one binary runs on every
// x86-64. matvec / matmat split the rows over OpenMP threads.
#include "kernels/kernels.h"

#include "core/error.h"
#include "kernels/ref/ref_kernels.h"
#include "kernels/vec.h"

#include <algorithm>
#include <array>
#include <vector>

namespace smoe {
namespace {

#define SMOE_REF_ENTRY(type, suffix)                                                       \
  TypeKernels {                                                                            \
    GgmlType::type, &ref::dequantize_row_##suffix, &ref::dot_row_##suffix,                 \
        &ref::quantize_row_##suffix                                                        \
  }

constexpr std::array kReferenceKernels = {
    SMOE_REF_ENTRY(F32, f32),   SMOE_REF_ENTRY(F16, f16),   SMOE_REF_ENTRY(BF16, bf16),
    SMOE_REF_ENTRY(Q4_0, q4_0), SMOE_REF_ENTRY(Q4_1, q4_1), SMOE_REF_ENTRY(Q5_0, q5_0),
    SMOE_REF_ENTRY(Q5_1, q5_1), SMOE_REF_ENTRY(Q8_0, q8_0), SMOE_REF_ENTRY(Q2_K, q2_k),
    SMOE_REF_ENTRY(Q3_K, q3_k), SMOE_REF_ENTRY(Q4_K, q4_k), SMOE_REF_ENTRY(Q5_K, q5_k),
    SMOE_REF_ENTRY(Q6_K, q6_k),
};

#undef SMOE_REF_ENTRY

// Type ids are small (ggml's largest is below 64), so tables are indexed by id directly.
constexpr size_t kTypeIdLimit = 64;
using KernelTable = std::array<const TypeKernels*, kTypeIdLimit>;

size_t type_index(GgmlType type) {
  const auto id = static_cast<size_t>(type);
  if (id >= kTypeIdLimit) fail("unknown tensor type id {}", id);
  return id;
}

KernelTable make_reference_table() {
  KernelTable table{};
  for (const TypeKernels& k : kReferenceKernels) table[type_index(k.type)] = &k;
  return table;
}

const KernelTable& reference_table() {
  static const KernelTable table = make_reference_table();
  return table;
}

// The dispatch point: starts from the scalar references; SIMD variants (src/kernels/x86/) will
// overwrite the entries they implement here, after checking the CPU's features once.
KernelTable select_active_kernels() {
  KernelTable table = reference_table();
  return table;
}

const TypeKernels& lookup(const KernelTable& table, GgmlType type) {
  const TypeInfo& info = type_info(type);  // throws for ids ggml does not define
  const TypeKernels* k = info.computable ? table[type_index(type)] : nullptr;
  if (!k) fail("weights of type {} are not supported", info.name);
  return *k;
}

// Below this many multiply-adds a product is faster on the calling thread than after waking
// the OpenMP team.
constexpr int64_t kMinParallelWork = int64_t{1} << 16;
// Rows per unit of work in matvec: enough to amortize the loop overhead.
constexpr int64_t kMatvecRowsPerChunk = 16;
// matmat keeps a tile of dequantized rows per thread (at most this many floats, ~256 KiB) so
// that each token's activations are read once per tile rather than once per row.
constexpr int64_t kMatmatTileFloats = int64_t{1} << 16;
constexpr int64_t kMatmatMaxRowsPerTile = 16;

void check_shape(GgmlType type, int64_t n_rows, int64_t n_cols) {
  const TypeInfo& info = type_info(type);
  if (n_rows < 0 || n_cols < 0 || n_cols % info.block_size != 0)
    fail("matrix of {} x {} {} values: the row length must be a multiple of {}", n_rows, n_cols,
         info.name, info.block_size);
}

}  // namespace

const TypeKernels& reference_kernels(GgmlType type) { return lookup(reference_table(), type); }

const TypeKernels& kernels_for(GgmlType type) {
  static const KernelTable active = select_active_kernels();
  return lookup(active, type);
}

void matvec(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x, float* y) {
  const TypeKernels& kernels = kernels_for(type);
  check_shape(type, n_rows, n_cols);
  const auto* bytes = static_cast<const uint8_t*>(w);
  const size_t stride = row_bytes(type, n_cols);
  const int64_t n_chunks = (n_rows + kMatvecRowsPerChunk - 1) / kMatvecRowsPerChunk;
  const bool parallel = n_rows * n_cols >= kMinParallelWork && n_chunks > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t chunk = 0; chunk < n_chunks; ++chunk) {
    const int64_t end = std::min(n_rows, (chunk + 1) * kMatvecRowsPerChunk);
    for (int64_t r = chunk * kMatvecRowsPerChunk; r < end; ++r)
      y[r] = kernels.dot_row(bytes + static_cast<size_t>(r) * stride, x, n_cols);
  }
}

void matmat(GgmlType type, const void* w, int64_t n_rows, int64_t n_cols, const float* x,
            int64_t n_tokens, float* y) {
  const TypeKernels& kernels = kernels_for(type);
  check_shape(type, n_rows, n_cols);
  if (n_tokens <= 0 || n_rows == 0) return;
  const auto* bytes = static_cast<const uint8_t*>(w);
  const size_t stride = row_bytes(type, n_cols);
  const int64_t rows_per_tile =
      std::clamp<int64_t>(kMatmatTileFloats / std::max<int64_t>(n_cols, 1), 1, kMatmatMaxRowsPerTile);
  const int64_t n_tiles = (n_rows + rows_per_tile - 1) / rows_per_tile;
  const bool parallel = n_rows * n_cols * n_tokens >= kMinParallelWork && n_tiles > 1;
#pragma omp parallel if (parallel)
  {
    // Each weight row is dequantized once, then dotted with every token, in dot_f32's order:
    // the same order as dot_row, so matmat and matvec agree bit for bit.
    std::vector<float> tile(static_cast<size_t>(rows_per_tile * n_cols));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < n_tiles; ++t) {
      const int64_t first = t * rows_per_tile;
      const int64_t count = std::min(rows_per_tile, n_rows - first);
      for (int64_t i = 0; i < count; ++i)
        kernels.dequantize_row(bytes + static_cast<size_t>(first + i) * stride,
                               tile.data() + i * n_cols, n_cols);
      for (int64_t token = 0; token < n_tokens; ++token) {
        const float* xt = x + token * n_cols;
        float* yt = y + token * n_rows + first;
        for (int64_t i = 0; i < count; ++i) yt[i] = dot_f32(tile.data() + i * n_cols, xt, n_cols);
      }
    }
  }
}

}  // namespace smoe

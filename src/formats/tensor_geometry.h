// Validation of a tensor's shape against its element type, shared by the GGUF reader and writer:
// dimension count, dimension values, whole blocks per row, and the element and byte counts, all
// computed without overflow.
#pragma once

#include "kernels/ggml_type.h"

#include <cstdint>
#include <span>
#include <string>

namespace smoe {

struct TensorGeometry {
  int64_t n_elements = 0;
  uint64_t n_bytes = 0;
};

// Fills `out` and returns true when `ne` is a valid shape for `type`: 1..4 dimensions, each >= 1,
// an element count that fits int64, ne[0] a multiple of the type's block size, and a byte count
// that fits size_t. Otherwise returns false with `problem` saying why (e.g. "dimension 1 is 0").
//
// Zero-sized dimensions are rejected although ggml accepts them: no model has an empty weight,
// and consumers divide by ne[0] and row counts.
bool compute_tensor_geometry(GgmlType type, std::span<const int64_t> ne, TensorGeometry& out,
                             std::string& problem);

}  // namespace smoe

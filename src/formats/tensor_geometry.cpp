// Overflow-safe shape validation for GGUF tensors.
#include "formats/tensor_geometry.h"

#include "formats/gguf.h"

#include <fmt/format.h>

#include <limits>

namespace smoe {

bool compute_tensor_geometry(GgmlType type, std::span<const int64_t> ne, TensorGeometry& out,
                             std::string& problem) {
  if (ne.empty() || ne.size() > gguf_limits::kMaxDims) {
    problem = fmt::format("has {} dimensions (expected 1 to {})", ne.size(), gguf_limits::kMaxDims);
    return false;
  }
  int64_t n_elements = 1;
  for (size_t i = 0; i < ne.size(); ++i) {
    if (ne[i] < 1) {
      problem = fmt::format("has dimension {} = {} (must be at least 1)", i, ne[i]);
      return false;
    }
    if (__builtin_mul_overflow(n_elements, ne[i], &n_elements)) {
      problem = fmt::format("has dimensions whose element count overflows int64");
      return false;
    }
  }
  const TypeInfo& info = type_info(type);
  if (ne[0] % info.block_size != 0) {
    problem = fmt::format("has a row length {} that is not a multiple of the {} block size {}",
                          ne[0], info.name, info.block_size);
    return false;
  }
  const uint64_t blocks_per_row = static_cast<uint64_t>(ne[0] / info.block_size);
  const uint64_t rows = static_cast<uint64_t>(n_elements / ne[0]);
  uint64_t row_bytes = 0, n_bytes = 0;
  if (__builtin_mul_overflow(blocks_per_row, uint64_t{info.block_bytes}, &row_bytes) ||
      __builtin_mul_overflow(row_bytes, rows, &n_bytes) ||
      n_bytes > std::numeric_limits<size_t>::max()) {
    problem = "has a byte size that overflows";
    return false;
  }
  out.n_elements = n_elements;
  out.n_bytes = n_bytes;
  return true;
}

}  // namespace smoe

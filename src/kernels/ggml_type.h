// The tensor element types of the GGUF format (numbering as in ggml), with their block geometry.
// Quantized types store blocks of `block_size` values in `block_bytes` bytes; a row of n values
// (n a multiple of block_size) takes n / block_size * block_bytes bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace smoe {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
};

struct TypeInfo {
  GgmlType type;
  std::string_view name;  // as llama.cpp prints it: "Q4_K", "BF16", ...
  int64_t block_size;     // values per block
  size_t block_bytes;     // bytes per block
  bool computable;        // smoe has kernels for it (weights of this type can be used)
};

// Geometry of a type id read from a file; nullptr for ids ggml does not define.
const TypeInfo* find_type_info(uint32_t raw_type);
// Geometry of a known type.
const TypeInfo& type_info(GgmlType type);
std::string_view type_name(GgmlType type);
// Parses a name such as "q4_k" or "BF16" (case-insensitive).
std::optional<GgmlType> parse_type_name(std::string_view name);

// Bytes of one row of n values; n must be a multiple of the block size (checked by callers).
inline size_t row_bytes(GgmlType type, int64_t n) {
  const TypeInfo& t = type_info(type);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

}  // namespace smoe

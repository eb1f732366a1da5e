// Facts about GGUF metadata value types that both the reader and the writer need.
#pragma once

#include "formats/gguf.h"

#include <cstddef>
#include <cstdint>

namespace smoe {

inline bool is_known_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

inline bool is_integer_value_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::UINT16:
    case GgufValueType::INT16:
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
      return true;
    default:
      return false;
  }
}

inline bool is_float_value_type(GgufValueType t) {
  return t == GgufValueType::FLOAT32 || t == GgufValueType::FLOAT64;
}

// Encoded size of one scalar of a fixed-size type; 0 for STRING and ARRAY (variable size).
inline size_t fixed_value_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::BOOL:
      return 1;
    case GgufValueType::UINT16:
    case GgufValueType::INT16:
      return 2;
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::FLOAT32:
      return 4;
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
    case GgufValueType::FLOAT64:
      return 8;
    case GgufValueType::STRING:
    case GgufValueType::ARRAY:
      return 0;
  }
  return 0;
}

// The fewest bytes one array element of this type can take: its fixed size, a string's u64
// length, or a nested array's u32 type + u64 count. Bounds an array's count by the bytes left.
inline size_t min_element_size(GgufValueType t) {
  if (t == GgufValueType::STRING) return 8;
  if (t == GgufValueType::ARRAY) return 4 + 8;
  return fixed_value_size(t);
}

// Reads one little-endian integer element of an integer type as its 64-bit pattern (sign- or
// zero-extended); UINT64 values above INT64_MAX come back negative.
int64_t decode_integer(GgufValueType t, const uint8_t* p);

}  // namespace smoe

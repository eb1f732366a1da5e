// GGUF reader (versions 2 and 3): metadata and tensor infos parsed and validated up front,
// tensor data used in place from a read-only memory mapping (zero-copy).
//
// Every count, length, type, dimension and offset is checked against the file size before it is
// used, so a malformed or truncated file gives one smoe::Error line naming the problem.
#pragma once

#include "core/mapped_file.h"
#include "kernels/ggml_type.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

// Limits that protect the host from hostile or corrupt files: a header field beyond any of these
// is rejected before memory is reserved for it. Every count is additionally bounded by the bytes
// that remain in the file, so a small file can never claim a large allocation.
namespace gguf_limits {
inline constexpr uint64_t kMaxTensorCount = uint64_t{1} << 20;   // llama.cpp files: < 10^4
inline constexpr uint64_t kMaxKvCount = uint64_t{1} << 20;       // llama.cpp files: < 100
inline constexpr uint64_t kMaxStringLength = uint64_t{16} << 20; // a string value, 16 MiB
inline constexpr uint64_t kMaxNameLength = 65535;                // a key or tensor name (spec)
inline constexpr uint64_t kMaxArrayCount = uint64_t{1} << 28;    // elements of one array
inline constexpr int kMaxArrayNesting = 8;                       // arrays of arrays of ...
inline constexpr uint32_t kMaxDims = 4;                          // as GGML_MAX_DIMS
inline constexpr uint32_t kDefaultAlignment = 32;
}  // namespace gguf_limits

enum class GgufValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType type);

// One metadata value. Scalars are widened into `integer` / `real` / `boolean`; strings go to
// `string`. Arrays record their element type and count; string arrays are decoded into
// `strings`, numeric arrays stay in the mapping (`array_data`, little-endian, unaligned).
// Nested arrays are validated and skipped (count kept, no decoded contents).
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  // Every integer type. A UINT64 above INT64_MAX is kept as its bit pattern (negative here) so it
  // can be copied exactly, and is rejected by get_int.
  int64_t integer = 0;
  double real = 0;       // FLOAT32 / FLOAT64
  bool boolean = false;  // BOOL
  std::string string;    // STRING
  GgufValueType array_type = GgufValueType::UINT8;  // ARRAY: element type
  uint64_t array_count = 0;                         // ARRAY: number of elements
  std::vector<std::string> strings;                 // ARRAY of STRING
  const uint8_t* array_data = nullptr;              // ARRAY of numbers: first element
  // ARRAY read from a file (any element type, nested included): the elements exactly as encoded,
  // inside the mapping, so a writer can copy the array verbatim. Null for hand-built values.
  const uint8_t* array_encoded = nullptr;
  size_t array_encoded_bytes = 0;
};

struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;  // dimensions, ne[0] innermost (the row length), as in ggml
  int64_t n_elements = 0;
  uint64_t offset = 0;      // relative to the start of the data section
  size_t n_bytes = 0;
  const uint8_t* data = nullptr;  // inside the mapping

  int64_t dim(size_t i) const { return i < ne.size() ? ne[i] : 1; }
};

class GgufFile {
 public:
  // Maps and validates the whole file; throws smoe::Error "<path>: <problem>" when malformed.
  // Besides the limits above: 1..4 dimensions each >= 1 (llama.cpp also allows 0), whole blocks
  // per row, unique keys and tensor names, general.alignment a UINT32 power of two. Tensors may
  // lie in any order with gaps (llama.cpp insists on packed order) but each must be aligned,
  // inside the file, and not overlap another.
  static GgufFile open(const std::string& path);
  // The same checks on bytes in memory, which must outlive the returned file (its tensors point
  // into them); `name` stands for the path in errors.
  static GgufFile from_bytes(const uint8_t* data, size_t size, std::string name);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }
  const std::string& path() const { return file_.path(); }
  size_t file_size() const { return file_.size(); }
  const uint8_t* file_data() const { return file_.data(); }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  // The metadata keys in file order (a converter keeps the source's order).
  const std::vector<std::string>& key_order() const { return key_order_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters: std::nullopt when the key is absent; smoe::Error when present with a type
  // that does not fit (any integer type fits get_int; integers and floats fit get_float).
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Arrays: empty optional when absent; smoe::Error when the element type does not fit.
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<float>> get_float_array(std::string_view key) const;   // F32/F64
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;   // any int

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(std::string_view name) const;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<std::string> key_order_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;

  friend class GgufParser;
};

}  // namespace smoe

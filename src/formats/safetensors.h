// safetensors reader: an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. Memory-mapped, zero-copy; every
// size, shape and offset is checked against the file before a tensor is handed out.
#pragma once

#include "core/mapped_file.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

enum class SafetensorsDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 };

std::string_view safetensors_dtype_name(SafetensorsDtype dtype);
size_t safetensors_dtype_size(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype;
  std::vector<int64_t> shape;  // outermost first (PyTorch order): a Linear weight is [out, in]
  int64_t n_elements = 0;
  size_t n_bytes = 0;
  const uint8_t* data = nullptr;  // inside the mapping
};

class SafetensorsFile {
 public:
  // Limits that protect the host from hostile or corrupt headers, checked while the JSON is
  // parsed, before the whole header is held as objects. The largest JSON header accepted (the
  // format's own reference implementation uses 100 MB):
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;
  // Tensors in one file (Mixtral 8x22B has about 1,000 in all its shards together; gguf_limits
  // allows 2^20 per GGUF, whose entries are far smaller than JSON ones).
  static constexpr size_t kMaxTensorCount = size_t{1} << 16;
  // Dimensions of a tensor (weights have 1 or 2; safetensors itself sets no limit).
  static constexpr size_t kMaxDims = 8;
  // Nesting of the header: header object > tensor entry > shape list.
  static constexpr int kMaxNesting = 3;

  // Maps and validates the file; throws smoe::Error "<path>: <problem>" when malformed.
  static SafetensorsFile open(const std::string& path);
  // The same checks on bytes in memory, which must outlive the returned file (its tensors point
  // into them); `name` stands for the path in errors.
  static SafetensorsFile from_bytes(const uint8_t* data, size_t size, std::string name);

  const std::string& path() const { return file_.path(); }
  size_t file_size() const { return file_.size(); }
  const uint8_t* file_data() const { return file_.data(); }
  const std::map<std::string, SafetensorsTensor, std::less<>>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  // Validates the header of `file` and indexes its tensors.
  static SafetensorsFile parse(MappedFile file);

  MappedFile file_;
  std::map<std::string, SafetensorsTensor, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace smoe

// GGUF v3 writer, for tests, `smoe convert` and `smoe gen-model`.
//
// Metadata is encoded as it is set; tensors are recorded as references (a pointer, or a producer
// called at write time), so converting a model holds at most one tensor in memory. The output
// is laid out as llama.cpp writes it (each tensor padded to the alignment, in the order added),
// and everything the writer accepts is something GgufFile::open accepts.
#pragma once

#include "formats/gguf.h"
#include "kernels/ggml_type.h"

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

class GgufWriter {
 public:
  // Fills dst with exactly n_bytes of tensor data; called once per write(), in tensor order.
  using TensorProducer = std::function<void(uint8_t* dst, size_t n_bytes)>;

  // Metadata. Keys keep the order of their first setting; setting a key again replaces its value
  // (and type) in place. Invalid input (empty or over-long key, over-long string or array,
  // general.alignment that is not a UINT32 power of two) throws smoe::Error.
  void set_u8(std::string_view key, uint8_t value);
  void set_i8(std::string_view key, int8_t value);
  void set_u16(std::string_view key, uint16_t value);
  void set_i16(std::string_view key, int16_t value);
  void set_u32(std::string_view key, uint32_t value);
  void set_i32(std::string_view key, int32_t value);
  void set_u64(std::string_view key, uint64_t value);
  void set_i64(std::string_view key, int64_t value);
  void set_f32(std::string_view key, float value);
  void set_f64(std::string_view key, double value);
  void set_bool(std::string_view key, bool value);
  void set_string(std::string_view key, std::string_view value);
  void set_string_array(std::string_view key, std::span<const std::string> values);
  void set_f32_array(std::string_view key, std::span<const float> values);
  void set_i32_array(std::string_view key, std::span<const int32_t> values);
  void set_u32_array(std::string_view key, std::span<const uint32_t> values);
  // An array of any fixed-size element type: `count` little-endian elements at `data`.
  void set_array(std::string_view key, GgufValueType element_type, const void* data, uint64_t count);
  // Copies a value read by GgufFile, any type (nested arrays are copied verbatim). The bytes are
  // copied now, so the source file may be closed before write().
  void set_value(std::string_view key, const GgufValue& value);

  bool has(std::string_view key) const;
  void remove(std::string_view key);
  size_t key_count() const { return entries_.size(); }

  // Tensors, written in the order added; ne[0] is the innermost dimension (as in GgufTensor).
  // The shape is validated against the type as the reader does, and the name must be new.
  // Returns the tensor's size in bytes.
  //
  // `data` must point to exactly that many bytes and stay alive until write() returns.
  size_t add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, const void* data);
  // `produce` is called during write() with a buffer of that many bytes to fill.
  size_t add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne, TensorProducer produce);
  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file: to path + ".tmp", renamed over `path` only when complete, so a failure
  // (cannot open, disk full, a producer throwing) leaves no partial file behind. Alignment is
  // general.alignment if set, else 32; padding is zeros. Throws smoe::Error on failure.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string key;
    GgufValueType type;
    std::vector<uint8_t> encoded;  // the value as it appears after the type field
  };
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    size_t n_bytes;
    const void* data;         // either this ...
    TensorProducer produce;   // ... or this
  };

  void put(std::string_view key, GgufValueType type, std::vector<uint8_t> encoded);
  size_t add_tensor_entry(PendingTensor tensor);
  uint32_t output_alignment() const;

  std::vector<Entry> entries_;
  std::vector<PendingTensor> tensors_;
  std::set<std::string, std::less<>> tensor_names_;
};

}  // namespace smoe

// Lookups and typed getters of GgufFile, and value type names.
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_value_types.h"

#include <cstring>
#include <limits>

namespace smoe {

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: return "UINT8";
    case GgufValueType::INT8: return "INT8";
    case GgufValueType::UINT16: return "UINT16";
    case GgufValueType::INT16: return "INT16";
    case GgufValueType::UINT32: return "UINT32";
    case GgufValueType::INT32: return "INT32";
    case GgufValueType::FLOAT32: return "FLOAT32";
    case GgufValueType::BOOL: return "BOOL";
    case GgufValueType::STRING: return "STRING";
    case GgufValueType::ARRAY: return "ARRAY";
    case GgufValueType::UINT64: return "UINT64";
    case GgufValueType::INT64: return "INT64";
    case GgufValueType::FLOAT64: return "FLOAT64";
  }
  return "UNKNOWN";
}

int64_t decode_integer(GgufValueType t, const uint8_t* p) {
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return static_cast<int64_t>(v);
  };
  switch (t) {
    case GgufValueType::UINT8: return load(uint8_t{});
    case GgufValueType::INT8: return load(int8_t{});
    case GgufValueType::UINT16: return load(uint16_t{});
    case GgufValueType::INT16: return load(int16_t{});
    case GgufValueType::UINT32: return load(uint32_t{});
    case GgufValueType::INT32: return load(int32_t{});
    case GgufValueType::UINT64: return load(uint64_t{});  // above INT64_MAX: wraps, see GgufValue
    case GgufValueType::INT64: return load(int64_t{});
    default: return 0;
  }
}

namespace {

// "UINT32" for a scalar, "ARRAY of STRING" for an array.
std::string describe_type(const GgufValue& v) {
  if (v.type != GgufValueType::ARRAY) return std::string(gguf_value_type_name(v.type));
  return fmt::format("ARRAY of {}", gguf_value_type_name(v.array_type));
}

}  // namespace

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!is_integer_value_type(v->type))
    fail("{}: key '{}' has type {}, expected an integer", path(), key, describe_type(*v));
  if (v->type == GgufValueType::UINT64 && v->integer < 0)
    fail("{}: key '{}' has UINT64 value {} which does not fit int64", path(), key,
         static_cast<uint64_t>(v->integer));
  return v->integer;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (is_float_value_type(v->type)) return v->real;
  if (v->type == GgufValueType::UINT64) return static_cast<double>(static_cast<uint64_t>(v->integer));
  if (is_integer_value_type(v->type)) return static_cast<double>(v->integer);
  fail("{}: key '{}' has type {}, expected a number", path(), key, describe_type(*v));
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::BOOL)
    fail("{}: key '{}' has type {}, expected BOOL", path(), key, describe_type(*v));
  return v->boolean;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::STRING)
    fail("{}: key '{}' has type {}, expected STRING", path(), key, describe_type(*v));
  return v->string;
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || v->array_type != GgufValueType::STRING)
    fail("{}: key '{}' has type {}, expected ARRAY of STRING", path(), key, describe_type(*v));
  return v->strings;
}

std::optional<std::vector<float>> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || !is_float_value_type(v->array_type))
    fail("{}: key '{}' has type {}, expected ARRAY of FLOAT32 or FLOAT64", path(), key,
         describe_type(*v));
  std::vector<float> out(v->array_count);
  if (v->array_count > 0 && !v->array_data) fail("{}: key '{}' has no array data", path(), key);
  for (uint64_t i = 0; i < v->array_count; ++i) {
    if (v->array_type == GgufValueType::FLOAT32) {
      std::memcpy(&out[i], v->array_data + i * 4, 4);
    } else {
      double d;
      std::memcpy(&d, v->array_data + i * 8, 8);
      out[i] = static_cast<float>(d);
    }
  }
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || !is_integer_value_type(v->array_type))
    fail("{}: key '{}' has type {}, expected an ARRAY of integers", path(), key, describe_type(*v));
  if (v->array_count > 0 && !v->array_data) fail("{}: key '{}' has no array data", path(), key);
  const size_t size = fixed_value_size(v->array_type);
  std::vector<int64_t> out(v->array_count);
  for (uint64_t i = 0; i < v->array_count; ++i) {
    out[i] = decode_integer(v->array_type, v->array_data + i * size);
    if (v->array_type == GgufValueType::UINT64 && out[i] < 0)
      fail("{}: key '{}' element {} is UINT64 value {} which does not fit int64", path(), key, i,
           static_cast<uint64_t>(out[i]));
  }
  return out;
}

}  // namespace smoe

// GGUF v3 writer: value encoding, layout (offsets and padding) and the temp-file-then-rename write.
#include "formats/gguf_writer.h"

#include "core/error.h"
#include "formats/gguf_value_types.h"
#include "formats/tensor_geometry.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace smoe {

namespace {

// resize + memcpy rather than insert: GCC 12 warns falsely (-Wstringop-overflow) on the latter.
void append_bytes(std::vector<uint8_t>& out, const void* data, size_t n) {
  if (n == 0) return;
  const size_t old_size = out.size();
  out.resize(old_size + n);
  std::memcpy(out.data() + old_size, data, n);
}

template <typename T>
void append(std::vector<uint8_t>& out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  append_bytes(out, &value, sizeof(T));
}

void append_string(std::vector<uint8_t>& out, std::string_view s) {
  append<uint64_t>(out, s.size());
  append_bytes(out, s.data(), s.size());
}

void check_string(std::string_view key, std::string_view s) {
  if (s.size() > gguf_limits::kMaxStringLength)
    fail("GGUF key '{}': string of {} bytes exceeds the limit of {}", key, s.size(),
         gguf_limits::kMaxStringLength);
}

void check_array_count(std::string_view key, uint64_t count) {
  if (count > gguf_limits::kMaxArrayCount)
    fail("GGUF key '{}': array of {} elements exceeds the limit of {}", key, count,
         gguf_limits::kMaxArrayCount);
}

// Array header: element type and count.
std::vector<uint8_t> array_header(GgufValueType element_type, uint64_t count) {
  std::vector<uint8_t> out;
  append<uint32_t>(out, static_cast<uint32_t>(element_type));
  append<uint64_t>(out, count);
  return out;
}

// Bytes needed to reach the next multiple of `alignment` (a power of two).
uint64_t padding_for(uint64_t size, uint64_t alignment) { return (alignment - size % alignment) % alignment; }

// A file opened for writing whose every failure (short write, disk full, close error) is a
// smoe::Error naming the file.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot open '{}' for writing: {}", path, std::strerror(errno));
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      const ssize_t written = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0)
        fail("cannot write '{}': {}", path_, written < 0 ? std::strerror(errno) : "no progress");
      p += written;
      n -= static_cast<size_t>(written);
    }
  }

  void write_zeros(size_t n) {
    static constexpr uint8_t kZeros[4096] = {};
    while (n > 0) {
      const size_t chunk = std::min(n, sizeof kZeros);
      write(kZeros, chunk);
      n -= chunk;
    }
  }

  void close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) fail("cannot write '{}': {}", path_, std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

void GgufWriter::put(std::string_view key, GgufValueType type, std::vector<uint8_t> encoded) {
  if (key.empty()) fail("GGUF metadata key is empty");
  if (key.size() > gguf_limits::kMaxNameLength)
    fail("GGUF metadata key of {} bytes exceeds the limit of {}", key.size(),
         gguf_limits::kMaxNameLength);
  if (key == "general.alignment") {
    uint32_t alignment = 0;
    if (type == GgufValueType::UINT32) std::memcpy(&alignment, encoded.data(), 4);
    if (type != GgufValueType::UINT32 || !std::has_single_bit(alignment))
      fail("general.alignment must be a UINT32 power of two");
  }
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  if (it != entries_.end()) {
    it->type = type;
    it->encoded = std::move(encoded);
  } else {
    if (entries_.size() >= gguf_limits::kMaxKvCount)
      fail("GGUF metadata has more than {} keys", gguf_limits::kMaxKvCount);
    entries_.push_back({std::string(key), type, std::move(encoded)});
  }
}

template <typename T>
static std::vector<uint8_t> encode_scalar(T value) {
  std::vector<uint8_t> out;
  append(out, value);
  return out;
}

void GgufWriter::set_u8(std::string_view k, uint8_t v) { put(k, GgufValueType::UINT8, encode_scalar(v)); }
void GgufWriter::set_i8(std::string_view k, int8_t v) { put(k, GgufValueType::INT8, encode_scalar(v)); }
void GgufWriter::set_u16(std::string_view k, uint16_t v) { put(k, GgufValueType::UINT16, encode_scalar(v)); }
void GgufWriter::set_i16(std::string_view k, int16_t v) { put(k, GgufValueType::INT16, encode_scalar(v)); }
void GgufWriter::set_u32(std::string_view k, uint32_t v) { put(k, GgufValueType::UINT32, encode_scalar(v)); }
void GgufWriter::set_i32(std::string_view k, int32_t v) { put(k, GgufValueType::INT32, encode_scalar(v)); }
void GgufWriter::set_u64(std::string_view k, uint64_t v) { put(k, GgufValueType::UINT64, encode_scalar(v)); }
void GgufWriter::set_i64(std::string_view k, int64_t v) { put(k, GgufValueType::INT64, encode_scalar(v)); }
void GgufWriter::set_f32(std::string_view k, float v) { put(k, GgufValueType::FLOAT32, encode_scalar(v)); }
void GgufWriter::set_f64(std::string_view k, double v) { put(k, GgufValueType::FLOAT64, encode_scalar(v)); }
void GgufWriter::set_bool(std::string_view k, bool v) {
  put(k, GgufValueType::BOOL, encode_scalar<uint8_t>(v ? 1 : 0));
}

void GgufWriter::set_string(std::string_view key, std::string_view value) {
  check_string(key, value);
  std::vector<uint8_t> out;
  append_string(out, value);
  put(key, GgufValueType::STRING, std::move(out));
}

void GgufWriter::set_string_array(std::string_view key, std::span<const std::string> values) {
  check_array_count(key, values.size());
  std::vector<uint8_t> out = array_header(GgufValueType::STRING, values.size());
  for (const std::string& s : values) {
    check_string(key, s);
    append_string(out, s);
  }
  put(key, GgufValueType::ARRAY, std::move(out));
}

void GgufWriter::set_array(std::string_view key, GgufValueType element_type, const void* data,
                           uint64_t count) {
  const size_t size = fixed_value_size(element_type);
  if (size == 0)
    fail("GGUF key '{}': set_array needs a fixed-size element type, not {}", key,
         gguf_value_type_name(element_type));
  check_array_count(key, count);
  if (count > 0 && !data) fail("GGUF key '{}': array data is null", key);
  std::vector<uint8_t> out = array_header(element_type, count);
  append_bytes(out, data, count * size);  // count <= 2^28, size <= 8: no overflow
  put(key, GgufValueType::ARRAY, std::move(out));
}

void GgufWriter::set_f32_array(std::string_view key, std::span<const float> values) {
  set_array(key, GgufValueType::FLOAT32, values.data(), values.size());
}
void GgufWriter::set_i32_array(std::string_view key, std::span<const int32_t> values) {
  set_array(key, GgufValueType::INT32, values.data(), values.size());
}
void GgufWriter::set_u32_array(std::string_view key, std::span<const uint32_t> values) {
  set_array(key, GgufValueType::UINT32, values.data(), values.size());
}

void GgufWriter::set_value(std::string_view key, const GgufValue& value) {
  switch (value.type) {
    case GgufValueType::UINT8: return set_u8(key, static_cast<uint8_t>(value.integer));
    case GgufValueType::INT8: return set_i8(key, static_cast<int8_t>(value.integer));
    case GgufValueType::UINT16: return set_u16(key, static_cast<uint16_t>(value.integer));
    case GgufValueType::INT16: return set_i16(key, static_cast<int16_t>(value.integer));
    case GgufValueType::UINT32: return set_u32(key, static_cast<uint32_t>(value.integer));
    case GgufValueType::INT32: return set_i32(key, static_cast<int32_t>(value.integer));
    case GgufValueType::UINT64: return set_u64(key, static_cast<uint64_t>(value.integer));
    case GgufValueType::INT64: return set_i64(key, value.integer);
    case GgufValueType::FLOAT32: return set_f32(key, static_cast<float>(value.real));
    case GgufValueType::FLOAT64: return set_f64(key, value.real);
    case GgufValueType::BOOL: return set_bool(key, value.boolean);
    case GgufValueType::STRING: return set_string(key, value.string);
    case GgufValueType::ARRAY: break;
  }
  if (value.type != GgufValueType::ARRAY) fail("GGUF key '{}': unknown value type", key);

  check_array_count(key, value.array_count);
  if (value.array_encoded) {  // read from a file, already validated there: copy verbatim
    std::vector<uint8_t> out = array_header(value.array_type, value.array_count);
    append_bytes(out, value.array_encoded, value.array_encoded_bytes);
    return put(key, GgufValueType::ARRAY, std::move(out));
  }
  if (value.array_type == GgufValueType::STRING) {
    if (value.strings.size() != value.array_count)
      fail("GGUF key '{}': array_count {} but {} strings", key, value.array_count, value.strings.size());
    return set_string_array(key, value.strings);
  }
  if (value.array_type == GgufValueType::ARRAY)
    fail("GGUF key '{}': a nested array can only be copied from a file", key);
  set_array(key, value.array_type, value.array_data, value.array_count);
}

bool GgufWriter::has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
}

void GgufWriter::remove(std::string_view key) {
  std::erase_if(entries_, [&](const Entry& e) { return e.key == key; });
}

size_t GgufWriter::add_tensor_entry(PendingTensor tensor) {
  if (tensor.name.empty()) fail("GGUF tensor name is empty");
  if (tensor.name.size() > gguf_limits::kMaxNameLength)
    fail("GGUF tensor name of {} bytes exceeds the limit of {}", tensor.name.size(),
         gguf_limits::kMaxNameLength);
  if (tensors_.size() >= gguf_limits::kMaxTensorCount)
    fail("GGUF file has more than {} tensors", gguf_limits::kMaxTensorCount);
  if (!tensor_names_.insert(tensor.name).second) fail("duplicate GGUF tensor name '{}'", tensor.name);
  TensorGeometry geometry;
  std::string problem;
  if (!compute_tensor_geometry(tensor.type, tensor.ne, geometry, problem)) {
    tensor_names_.erase(tensor.name);
    fail("GGUF tensor '{}' {}", tensor.name, problem);
  }
  tensor.n_bytes = geometry.n_bytes;
  tensors_.push_back(std::move(tensor));
  return tensors_.back().n_bytes;
}

size_t GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne,
                              const void* data) {
  if (!data) fail("GGUF tensor '{}': data is null", name);
  return add_tensor_entry({std::move(name), type, std::move(ne), 0, data, {}});
}

size_t GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> ne,
                              TensorProducer produce) {
  if (!produce) fail("GGUF tensor '{}': producer is empty", name);
  return add_tensor_entry({std::move(name), type, std::move(ne), 0, nullptr, std::move(produce)});
}

uint32_t GgufWriter::output_alignment() const {
  for (const Entry& e : entries_) {
    if (e.key == "general.alignment") {  // put() guaranteed a UINT32 power of two
      uint32_t alignment;
      std::memcpy(&alignment, e.encoded.data(), 4);
      return alignment;
    }
  }
  return gguf_limits::kDefaultAlignment;
}

void GgufWriter::write(const std::string& path) const {
  const uint64_t alignment = output_alignment();

  std::vector<uint8_t> header;
  append_bytes(header, "GGUF", 4);
  append<uint32_t>(header, 3);
  append<uint64_t>(header, tensors_.size());
  append<uint64_t>(header, entries_.size());
  for (const Entry& e : entries_) {
    append_string(header, e.key);
    append<uint32_t>(header, static_cast<uint32_t>(e.type));
    append_bytes(header, e.encoded.data(), e.encoded.size());
  }
  uint64_t offset = 0;  // of the next tensor, in the data section
  for (const PendingTensor& t : tensors_) {
    append_string(header, t.name);
    append<uint32_t>(header, static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) append<int64_t>(header, n);
    append<uint32_t>(header, static_cast<uint32_t>(t.type));
    append<uint64_t>(header, offset);
    if (__builtin_add_overflow(offset, t.n_bytes + padding_for(t.n_bytes, alignment), &offset))
      fail("GGUF tensors of '{}' exceed 2^64 bytes", path);
  }
  header.resize(header.size() + padding_for(header.size(), alignment), 0);

  const std::string temp_path = path + ".tmp";
  try {
    OutputFile out(temp_path);
    out.write(header.data(), header.size());
    std::vector<uint8_t> buffer;  // one produced tensor at a time
    for (const PendingTensor& t : tensors_) {
      if (t.data) {
        out.write(t.data, t.n_bytes);
      } else {
        buffer.resize(t.n_bytes);
        t.produce(buffer.data(), t.n_bytes);
        out.write(buffer.data(), t.n_bytes);
      }
      out.write_zeros(padding_for(t.n_bytes, alignment));
    }
    out.close();
    if (std::rename(temp_path.c_str(), path.c_str()) != 0)
      fail("cannot rename '{}' to '{}': {}", temp_path, path, std::strerror(errno));
  } catch (...) {
    ::unlink(temp_path.c_str());
    throw;
  }
}

}  // namespace smoe

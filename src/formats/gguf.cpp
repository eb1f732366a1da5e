// GGUF parsing: header, metadata, tensor infos and tensor placement, validated in that order.
//
// Every read is preceded by a bounds check against the bytes that remain, every count is checked
// against a limit and against the bytes it would need before anything is reserved for it, and
// every size computation is overflow-checked, so no field value can make the parser read outside
// the mapping, allocate without bound, or loop for long.
#include "formats/gguf.h"

#include "core/error.h"
#include "formats/byte_cursor.h"
#include "formats/gguf_value_types.h"
#include "formats/tensor_geometry.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace smoe {

namespace {

// The fewest bytes a metadata pair and a tensor info can take; with the counts from the header
// they give a lower bound on the header size, so absurd counts fail before any allocation.
constexpr uint64_t kMinKvBytes = 8 + 0 + 4 + 1;             // key length, key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, ne[0], type, offset

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{}{:02x}", i ? " " : "", p[i]);
  return s;
}

// A name from the file as it appears in a message: control bytes escaped and long names cut, so
// a hostile name cannot break the one-line error format or flood it.
std::string printable(std::string_view name) {
  constexpr size_t kMaxShown = 120;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (name.size() > kMaxShown) out += fmt::format("... ({} bytes)", name.size());
  return out;
}

}  // namespace

class GgufParser {
 public:
  explicit GgufParser(GgufFile& file) : file_(file), in_(file.file_.data(), file.file_.size()) {}

  void parse() {
    const auto [tensor_count, kv_count] = parse_header();
    for (uint64_t i = 0; i < kv_count; ++i) parse_kv(i);
    apply_alignment();
    file_.tensors_.reserve(tensor_count);
    for (uint64_t i = 0; i < tensor_count; ++i) parse_tensor_info(i);
    place_tensors();
  }

 private:
  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) {
    fail("{}: {}", file_.path(), fmt::format(format, std::forward<Args>(args)...));
  }

  // Ensures n more bytes exist; otherwise reports what was being read.
  void need(uint64_t n) {
    if (!in_.has(n)) error("truncated while reading {}", context_);
  }

  template <typename T>
  T read() {
    need(sizeof(T));
    return in_.read<T>();
  }

  // A gguf string (u64 length + bytes), checked against `max_length` before the bytes are touched.
  std::string read_string(uint64_t max_length, std::string_view what) {
    const uint64_t length = read<uint64_t>();
    if (length > max_length)
      error("{}: {} length {} exceeds the limit of {} bytes", label_, what, length, max_length);
    if (!in_.has(length))
      error("truncated while reading {}: {} of {} bytes but only {} remain", context_, what, length,
            in_.remaining());
    const uint8_t* bytes = in_.take(length);
    return std::string(reinterpret_cast<const char*>(bytes), length);
  }

  GgufValueType read_value_type(std::string_view what) {
    const uint32_t raw = read<uint32_t>();
    if (!is_known_value_type(raw)) error("{} has unknown {} {}", label_, what, raw);
    return static_cast<GgufValueType>(raw);
  }

  std::pair<uint64_t, uint64_t> parse_header() {
    context_ = label_ = "the header";
    need(4);
    const uint8_t* magic = in_.take(4);
    if (std::memcmp(magic, "FUGG", 4) == 0)
      error("big-endian GGUF files are not supported (only little-endian)");
    if (std::memcmp(magic, "GGUF", 4) != 0)
      error("not a GGUF file (starts with bytes {}, expected 47 47 55 46 \"GGUF\")", hex_bytes(magic, 4));

    const uint32_t version = read<uint32_t>();
    if (version == 1) error("GGUF version 1 is not supported (only versions 2 and 3)");
    if (version != 2 && version != 3) {
      // A big-endian writer stores the version with its bytes reversed: 3 reads as 0x03000000.
      const uint32_t swapped = __builtin_bswap32(version);
      if (swapped >= 1 && swapped <= 3)
        error("big-endian GGUF files are not supported (version field reads as {:#010x})", version);
      error("unsupported GGUF version {} (only versions 2 and 3)", version);
    }
    file_.version_ = version;

    const uint64_t tensor_count = read<uint64_t>();
    const uint64_t kv_count = read<uint64_t>();
    if (tensor_count > gguf_limits::kMaxTensorCount)
      error("tensor count {} exceeds the limit of {}", tensor_count, gguf_limits::kMaxTensorCount);
    if (kv_count > gguf_limits::kMaxKvCount)
      error("metadata key count {} exceeds the limit of {}", kv_count, gguf_limits::kMaxKvCount);
    // Both counts are at most 2^20 here, so this sum cannot overflow.
    const uint64_t min_bytes = kv_count * kMinKvBytes + tensor_count * kMinTensorInfoBytes;
    if (!in_.has(min_bytes))
      error("truncated or corrupt: the header declares {} keys and {} tensors, which need at least "
            "{} bytes, but only {} follow",
            kv_count, tensor_count, min_bytes, in_.remaining());
    return {tensor_count, kv_count};
  }

  void parse_kv(uint64_t index) {
    context_ = label_ = fmt::format("key {}", index);
    std::string key = read_string(gguf_limits::kMaxNameLength, "name");
    if (key.empty()) error("key {} has an empty name", index);
    context_ = fmt::format("key {} ('{}')", index, printable(key));
    label_ = fmt::format("key '{}'", printable(key));
    if (file_.metadata_.count(key)) error("duplicate key '{}'", printable(key));

    GgufValue value;
    value.type = read_value_type("value type");
    parse_value(value, 0);
    file_.key_order_.push_back(key);
    file_.metadata_.emplace(std::move(key), std::move(value));
  }

  void parse_value(GgufValue& value, int depth) {
    const GgufValueType type = value.type;
    if (type == GgufValueType::STRING) {
      value.string = read_string(gguf_limits::kMaxStringLength, "string");
    } else if (type == GgufValueType::ARRAY) {
      parse_array(value, depth);
    } else {
      const size_t size = fixed_value_size(type);
      need(size);
      const uint8_t* p = in_.take(size);
      if (is_integer_value_type(type)) {
        value.integer = decode_integer(type, p);
      } else if (type == GgufValueType::FLOAT32) {
        float f;
        std::memcpy(&f, p, 4);
        value.real = f;
      } else if (type == GgufValueType::FLOAT64) {
        std::memcpy(&value.real, p, 8);
      } else {  // BOOL: any non-zero byte is true, as ggml reads it
        value.boolean = *p != 0;
      }
    }
  }

  // Array header and elements. Strings are decoded, numbers stay in place, nested arrays are
  // walked (so their bounds are checked) and skipped.
  void parse_array(GgufValue& value, int depth) {
    const GgufValueType element_type = read_value_type("array element type");
    const uint64_t count = read<uint64_t>();
    check_array_count(element_type, count, depth);
    value.array_type = element_type;
    value.array_count = count;
    const size_t start = in_.position();
    const uint8_t* encoded = in_.take(0);

    if (element_type == GgufValueType::STRING) {
      value.strings.reserve(count);  // bounded: count * 8 <= remaining bytes
      for (uint64_t i = 0; i < count; ++i)
        value.strings.push_back(read_string(gguf_limits::kMaxStringLength, "string element"));
    } else if (element_type == GgufValueType::ARRAY) {
      for (uint64_t i = 0; i < count; ++i) skip_array(depth + 1);
    } else {
      // check_array_count proved count * size <= remaining, so this cannot overflow.
      value.array_data = in_.take(count * fixed_value_size(element_type));
    }
    value.array_encoded = encoded;
    value.array_encoded_bytes = in_.position() - start;
  }

  void skip_array(int depth) {
    const GgufValueType element_type = read_value_type("array element type");
    const uint64_t count = read<uint64_t>();
    check_array_count(element_type, count, depth);
    if (element_type == GgufValueType::STRING) {
      for (uint64_t i = 0; i < count; ++i) {
        const uint64_t length = read<uint64_t>();
        if (length > gguf_limits::kMaxStringLength)
          error("{}: string element length {} exceeds the limit of {} bytes", label_, length,
                gguf_limits::kMaxStringLength);
        need(length);
        in_.skip(length);
      }
    } else if (element_type == GgufValueType::ARRAY) {
      for (uint64_t i = 0; i < count; ++i) skip_array(depth + 1);
    } else {
      in_.skip(count * fixed_value_size(element_type));
    }
  }

  // An array of `count` elements must fit the limits and the bytes that remain, at the least
  // size each element can take. `depth` is 0 for a key's own array.
  void check_array_count(GgufValueType element_type, uint64_t count, int depth) {
    if (depth >= gguf_limits::kMaxArrayNesting)
      error("{} has arrays nested deeper than {} levels", label_, gguf_limits::kMaxArrayNesting);
    if (count > gguf_limits::kMaxArrayCount)
      error("{} has an array of {} elements, more than the limit of {}", label_, count,
            gguf_limits::kMaxArrayCount);
    const uint64_t min_size = min_element_size(element_type);
    if (count > in_.remaining() / min_size)
      error("truncated while reading {}: an array of {} {} elements needs at least {} bytes but only "
            "{} remain",
            context_, count, gguf_value_type_name(element_type), count * min_size, in_.remaining());
  }

  void apply_alignment() {
    context_ = label_ = "general.alignment";
    const GgufValue* value = file_.find("general.alignment");
    if (!value) return;
    if (value->type != GgufValueType::UINT32)
      error("general.alignment has type {} (must be UINT32)", gguf_value_type_name(value->type));
    const auto alignment = static_cast<uint32_t>(value->integer);
    if (!std::has_single_bit(alignment))
      error("general.alignment {} is not a power of two", alignment);
    file_.alignment_ = alignment;
  }

  void parse_tensor_info(uint64_t index) {
    context_ = label_ = fmt::format("tensor info {}", index);
    std::string name = read_string(gguf_limits::kMaxNameLength, "name");
    if (name.empty()) error("tensor info {} has an empty name", index);
    context_ = fmt::format("tensor info {} ('{}')", index, printable(name));
    label_ = fmt::format("tensor '{}'", printable(name));
    if (file_.tensor_index_.count(name)) error("duplicate tensor name '{}'", printable(name));

    const uint32_t n_dims = read<uint32_t>();
    if (n_dims == 0 || n_dims > gguf_limits::kMaxDims)
      error("{} has {} dimensions (expected 1 to {})", label_, n_dims, gguf_limits::kMaxDims);
    std::vector<int64_t> ne(n_dims);
    for (int64_t& n : ne) n = read<int64_t>();
    const uint32_t raw_type = read<uint32_t>();
    const uint64_t offset = read<uint64_t>();

    const TypeInfo* type = find_type_info(raw_type);
    if (!type) error("{} has unknown type {}", label_, raw_type);
    TensorGeometry geometry;
    std::string problem;
    if (!compute_tensor_geometry(type->type, ne, geometry, problem)) error("{} {}", label_, problem);

    GgufTensor tensor;
    tensor.name = name;
    tensor.type = type->type;
    tensor.ne = std::move(ne);
    tensor.n_elements = geometry.n_elements;
    tensor.offset = offset;
    tensor.n_bytes = geometry.n_bytes;
    file_.tensor_index_.emplace(std::move(name), file_.tensors_.size());
    file_.tensors_.push_back(std::move(tensor));
  }

  // The data section starts at the first aligned offset after the tensor infos; every tensor
  // must be aligned within it, lie inside the file, and not overlap another.
  void place_tensors() {
    const uint64_t alignment = file_.alignment_;
    const uint64_t header_end = in_.position();
    // header_end <= file size < 2^63 and alignment <= 2^31: no overflow.
    const uint64_t data_offset = (header_end + alignment - 1) / alignment * alignment;
    file_.data_offset_ = data_offset;
    if (file_.tensors_.empty()) return;

    const uint64_t file_size = file_.file_.size();
    if (data_offset > file_size)
      error("truncated before the data section (it starts at byte {}, the file has {} bytes)",
            data_offset, file_size);
    const uint64_t data_size = file_size - data_offset;
    for (GgufTensor& t : file_.tensors_) {
      if (t.offset % alignment != 0)
        error("tensor '{}' has offset {}, not a multiple of the alignment {}", printable(t.name),
              t.offset, alignment);
      if (t.offset > data_size || t.n_bytes > data_size - t.offset)
        error("tensor '{}' ({} bytes at data offset {}) extends past the end of the file "
              "(the data section has {} bytes)",
              printable(t.name), t.n_bytes, t.offset, data_size);
      t.data = file_.file_.data() + data_offset + t.offset;
    }

    std::vector<const GgufTensor*> by_offset;
    by_offset.reserve(file_.tensors_.size());
    for (const GgufTensor& t : file_.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensor& prev = *by_offset[i - 1];
      if (prev.offset + prev.n_bytes > by_offset[i]->offset)  // both inside the file: no overflow
        error("tensors '{}' and '{}' overlap in the data section", printable(prev.name),
              printable(by_offset[i]->name));
    }
  }

  GgufFile& file_;
  ByteCursor in_;
  std::string context_;  // what is being read, for truncation messages: "key 3 ('general.name')"
  std::string label_;    // the item, for other messages: "key 'general.name'", "tensor 'x'"
};

GgufFile GgufFile::open(const std::string& path) {
  GgufFile file;
  file.file_ = MappedFile::open(path);
  GgufParser(file).parse();
  return file;
}

GgufFile GgufFile::from_bytes(const uint8_t* data, size_t size, std::string name) {
  GgufFile file;
  file.file_ = MappedFile::borrow(data, size, std::move(name));
  GgufParser(file).parse();
  return file;
}

}  // namespace smoe

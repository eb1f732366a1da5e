// Parsing and validation of safetensors headers.
#include "formats/safetensors.h"

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace smoe {
namespace {

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DtypeInfo, 12> kDtypes = {{
    {SafetensorsDtype::F64, "F64", 8},
    {SafetensorsDtype::F32, "F32", 4},
    {SafetensorsDtype::F16, "F16", 2},
    {SafetensorsDtype::BF16, "BF16", 2},
    {SafetensorsDtype::I64, "I64", 8},
    {SafetensorsDtype::I32, "I32", 4},
    {SafetensorsDtype::I16, "I16", 2},
    {SafetensorsDtype::I8, "I8", 1},
    {SafetensorsDtype::U8, "U8", 1},
    {SafetensorsDtype::BOOL, "BOOL", 1},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3", 1},
    {SafetensorsDtype::F8_E5M2, "F8_E5M2", 1},
}};

const DtypeInfo& info(SafetensorsDtype d) {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i;
  return kDtypes[0];
}

// Counts tensor entries and nesting depth without building the header (SAX events only).
class HeaderShape : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit HeaderShape(const std::string& path) : path_(path) {}

  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    if (depth_ == 1 && name != "__metadata__" && ++tensors_ > SafetensorsFile::kMaxTensorCount)
      fail("{}: the safetensors header has more than the {} tensors accepted", path_, SafetensorsFile::kMaxTensorCount);
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  // Syntax errors are reported by the full parse that follows, with its message.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  const std::string& path_;
  int depth_ = 0;
  size_t tensors_ = 0;

  bool open() {
    if (++depth_ > SafetensorsFile::kMaxNesting)
      fail("{}: the safetensors header nests deeper than {} levels", path_, SafetensorsFile::kMaxNesting);
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
};

void check_header_shape(const char* begin, const char* end, const std::string& path) {
  HeaderShape shape(path);
  nlohmann::json::sax_parse(begin, end, &shape);
}

}  // namespace

std::string_view safetensors_dtype_name(SafetensorsDtype dtype) { return info(dtype).name; }
size_t safetensors_dtype_size(SafetensorsDtype dtype) { return info(dtype).size; }

SafetensorsFile SafetensorsFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::from_bytes(const uint8_t* data, size_t size, std::string name) {
  return parse(MappedFile::borrow(data, size, std::move(name)));
}

SafetensorsFile SafetensorsFile::parse(MappedFile file) {
  SafetensorsFile f;
  f.file_ = std::move(file);
  const std::string& path = f.file_.path();
  const uint8_t* bytes = f.file_.data();
  const size_t size = f.file_.size();
  if (size < 8) fail("{}: too short for a safetensors file ({} bytes)", path, size);
  uint64_t header_len;
  std::memcpy(&header_len, bytes, 8);
  if (header_len > kMaxHeaderBytes)
    fail("{}: safetensors header of {} bytes is larger than the {} accepted", path, header_len, kMaxHeaderBytes);
  if (header_len > size - 8)
    fail("{}: truncated: the header claims {} bytes but the file has {}", path, header_len, size - 8);
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
  // A first pass that builds nothing refuses a header of very many entries or deep nesting
  // before it is held in memory as objects (several times its text). nlohmann's parse callback is
  // no place for this: its parser rescans the enclosing object at each end of an object, which
  // makes a header of many entries take quadratic time.
  check_header_shape(header_begin, header_begin + header_len, path);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the safetensors header is not valid JSON ({})", path, e.what());
  }
  if (!header.is_object()) fail("{}: the safetensors header is not a JSON object", path);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& item : header.items()) {
    // Plain references, not a structured binding: clang 14 cannot capture bindings in the lambda.
    const std::string& name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: __metadata__ is not an object", path);
      for (const auto& [k, v] : entry.items())
        if (v.is_string()) f.metadata_[k] = v.get<std::string>();
      continue;
    }
    auto bad = [&](const std::string& what) { fail("{}: tensor '{}': {}", path, name, what); };
    if (!entry.is_object()) bad("entry is not an object");
    const auto dt = entry.find("dtype");
    const auto sh = entry.find("shape");
    const auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) bad("missing dtype");
    if (sh == entry.end() || !sh->is_array()) bad("missing shape");
    if (off == entry.end() || !off->is_array() || off->size() != 2) bad("data_offsets must be [begin, end]");
    SafetensorsTensor t;
    t.name = name;
    const std::string dtype = dt->get<std::string>();
    auto it = std::find_if(kDtypes.begin(), kDtypes.end(), [&](const DtypeInfo& i) { return i.name == dtype; });
    if (it == kDtypes.end()) bad("unknown dtype '" + dtype + "'");
    t.dtype = it->dtype;
    if (sh->size() > kMaxDims) bad(fmt::format("more than {} dimensions", kMaxDims));
    uint64_t elements = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) bad("shape entries must be non-negative integers");
      const uint64_t n = d.get<uint64_t>();
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (n != 0 && elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / n))
        bad("shape is too large");
      elements *= n;
      t.shape.push_back(static_cast<int64_t>(n));
    }
    for (const auto& o : *off)
      if (!o.is_number_unsigned()) bad("data_offsets must be non-negative integers");
    const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (begin > end || end > data_size)
      bad(fmt::format("data range [{}, {}) lies outside the {} data bytes", begin, end, data_size));
    if (elements > std::numeric_limits<uint64_t>::max() / it->size || elements * it->size != end - begin)
      bad(fmt::format("{} elements of {} need {} bytes but the range holds {}", elements, dtype,
                      elements * it->size, end - begin));
    t.n_elements = static_cast<int64_t>(elements);
    t.n_bytes = static_cast<size_t>(end - begin);
    t.data = bytes + data_start + begin;
    ranges.emplace_back(begin, end);
    f.tensors_.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail("{}: tensor data ranges overlap", path);
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace smoe

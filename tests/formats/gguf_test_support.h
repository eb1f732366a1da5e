// Helpers for the GGUF tests: whole-file byte I/O, patching fields in place, hand-built byte
// sequences, and opening a file expecting a clean smoe::Error.
#pragma once

#include "core/error.h"
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace smoe::test {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Position of the only occurrence of `needle`; fails the test when absent or repeated.
inline size_t find_unique(const std::vector<uint8_t>& bytes, std::string_view needle) {
  size_t found = std::string::npos;
  int hits = 0;
  for (size_t i = 0; i + needle.size() <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, needle.data(), needle.size()) == 0) {
      found = i;
      ++hits;
    }
  }
  EXPECT_EQ(hits, 1) << "'" << needle << "' should occur exactly once";
  return found;
}

template <typename T>
void patch(std::vector<uint8_t>& bytes, size_t pos, T value) {
  ASSERT_LE(pos + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + pos, &value, sizeof(T));
}

template <typename T>
T peek(const std::vector<uint8_t>& bytes, size_t pos) {
  T value{};
  if (pos + sizeof(T) <= bytes.size()) std::memcpy(&value, bytes.data() + pos, sizeof(T));
  return value;
}

// Appends little-endian fields, for files the writer cannot (and should not) produce.
class ByteBuilder {
 public:
  template <typename T>
  ByteBuilder& put(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  ByteBuilder& u32(uint32_t v) { return put(v); }
  ByteBuilder& u64(uint64_t v) { return put(v); }
  ByteBuilder& str(std::string_view s) {
    u64(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  ByteBuilder& header(uint64_t tensor_count, uint64_t kv_count, uint32_t version = 3) {
    bytes_.insert(bytes_.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(tensor_count).u64(kv_count);
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Opens `path`; returns the smoe::Error message, or "" when the file opened. Any other exception
// escapes and fails the test (a malformed file must give a smoe::Error, nothing else).
inline std::string open_error(const std::string& path) {
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace smoe::test

// Expects opening `path` to fail with a smoe::Error whose message contains `fragment`.
#define EXPECT_OPEN_ERROR(path, fragment)                                                  \
  do {                                                                                     \
    const std::string smoe_message_ = ::smoe::test::open_error(path);                      \
    EXPECT_NE(smoe_message_, "") << "opened without error";                                \
    EXPECT_NE(smoe_message_.find(fragment), std::string::npos)                             \
        << "message: " << smoe_message_ << "\nexpected to contain: " << (fragment);        \
  } while (0)

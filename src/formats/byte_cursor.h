// A read position over a byte range, for parsing little-endian binary headers.
//
// The cursor itself never fails: callers ask `has(n)` first and report a truncation in their own
// words (they know what they were reading). Reading without checking is a programming error and
// is caught by an assert in debug builds.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace smoe {

static_assert(std::endian::native == std::endian::little,
              "smoe reads little-endian files with plain loads; a big-endian host needs byte swaps");

class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  // Whether n more bytes can be read (n may be any u64 read from the file).
  bool has(uint64_t n) const { return n <= remaining(); }

  template <typename T>
  T read() {
    static_assert(std::is_trivially_copyable_v<T>);
    assert(has(sizeof(T)));
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));  // unaligned-safe
    pos_ += sizeof(T);
    return value;
  }

  // Returns the next n bytes (in place) and moves past them.
  const uint8_t* take(size_t n) {
    assert(has(n));
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

  void skip(size_t n) {
    assert(has(n));
    pos_ += n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace smoe

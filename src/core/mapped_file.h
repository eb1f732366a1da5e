// A read-only memory mapping of a whole file. Model weights are used in place from the
// mapping (zero-copy), so the page cache holds the only copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace smoe {

class MappedFile {
 public:
  MappedFile() = default;
  // Maps `path` read-only; throws smoe::Error naming the file and the reason on failure.
  static MappedFile open(const std::string& path);
  // Wraps bytes the caller owns, so parsers that read a MappedFile also read from memory (tests,
  // fuzzing). The bytes must outlive this object and everything read from it; nothing is unmapped.
  static MappedFile borrow(const uint8_t* data, size_t size, std::string name);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  bool owned_ = false;  // a mapping of ours (open), not borrowed bytes
};

}  // namespace smoe

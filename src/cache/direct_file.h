// Reading byte ranges of a model file into memory of our own without the page cache keeping a
// second copy: O_DIRECT where the filesystem allows it, otherwise ordinary reads followed by
// POSIX_FADV_DONTNEED on the range. Safe to call from several threads at once (pread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace smoe {

class DirectFile {
 public:
  // O_DIRECT needs file offsets, lengths and buffers aligned to the logical block size; 4096
  // covers every common device.
  static constexpr uint64_t kAlign = 4096;

  // Opens `path` for reading; throws smoe::Error when it cannot be opened.
  explicit DirectFile(const std::string& path);
  ~DirectFile();
  DirectFile(const DirectFile&) = delete;
  DirectFile& operator=(const DirectFile&) = delete;

  // Bytes a buffer needs to read [offset, offset + size): the range widened to aligned ends.
  static uint64_t buffer_bytes(uint64_t offset, uint64_t size);

  // Reads [offset, offset + size) into `buffer` (kAlign-aligned, buffer_bytes() long) and returns
  // where the range starts inside it. Throws smoe::Error naming the file and range on a short
  // read (truncated file) or an I/O error; `what` names the data in that message.
  const uint8_t* read(uint64_t offset, uint64_t size, uint8_t* buffer, const std::string& what);

  // Asks the kernel to drop its cached pages of the range (clean pages only; best effort).
  void drop_cached(uint64_t offset, uint64_t size) const;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  bool direct() const { return direct_.load(); }

 private:
  std::string path_;
  int fd_ = -1;         // ordinary reads
  int direct_fd_ = -1;  // O_DIRECT, or -1 where the filesystem refuses it
  std::atomic<bool> direct_{false};
  uint64_t size_ = 0;
};

// Sequential read bandwidth of `path` in GB/s with O_DIRECT (what the disk delivers, not the page
// cache), over up to max_bytes from its start, in 64 MiB reads. 0 when the file is too small.
double measure_disk_read_gbps(const std::string& path, uint64_t max_bytes);

}  // namespace smoe

// POSIX implementation of DirectFile.
#include "cache/direct_file.h"

#include "core/error.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

namespace smoe {
namespace {

uint64_t align_down(uint64_t v) { return v / DirectFile::kAlign * DirectFile::kAlign; }
uint64_t align_up(uint64_t v) { return align_down(v + DirectFile::kAlign - 1); }

}  // namespace

DirectFile::DirectFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open '{}' for the expert cache: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    fail("cannot stat '{}': {}", path, std::strerror(e));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  direct_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  direct_ = direct_fd_ >= 0;
}

DirectFile::~DirectFile() {
  if (fd_ >= 0) ::close(fd_);
  if (direct_fd_ >= 0) ::close(direct_fd_);
}

uint64_t DirectFile::buffer_bytes(uint64_t offset, uint64_t size) { return align_up(offset + size) - align_down(offset); }

const uint8_t* DirectFile::read(uint64_t offset, uint64_t size, uint8_t* buffer, const std::string& what) {
  if (offset > size_ || size > size_ - offset)
    fail("{}: {} lies at bytes {}..{}, beyond the end of the file ({} bytes)", path_, what, offset, offset + size, size_);
  const uint64_t start = align_down(offset), end = align_up(offset + size);
  const uint64_t needed = offset + size - start;  // the last aligned block may pass the end of file
  uint64_t done = 0;
  while (done < needed) {
    const bool direct = direct_.load();
    const ssize_t r = ::pread(direct ? direct_fd_ : fd_, buffer + done, end - start - done, static_cast<off_t>(start + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct) {  // O_DIRECT refused for this file or range: read normally
        direct_ = false;
        continue;
      }
      fail("{}: cannot read {} (bytes {}..{}): {}", path_, what, offset, offset + size, std::strerror(errno));
    }
    if (r == 0)
      fail("{}: unexpected end of file reading {} (bytes {}..{}; the file has {} bytes now: truncated?)", path_, what,
           offset, offset + size, start + done);
    done += static_cast<uint64_t>(r);
  }
  if (!direct_.load()) drop_cached(start, end - start);
  return buffer + (offset - start);
}

void DirectFile::drop_cached(uint64_t offset, uint64_t size) const {
  ::posix_fadvise(fd_, static_cast<off_t>(offset), static_cast<off_t>(size), POSIX_FADV_DONTNEED);
}

double measure_disk_read_gbps(const std::string& path, uint64_t max_bytes) {
  DirectFile file(path);
  const uint64_t chunk = uint64_t{64} << 20;
  const uint64_t total = align_down(std::min(max_bytes, file.size()));
  if (total < chunk) return 0;
  std::unique_ptr<uint8_t, decltype(&std::free)> buffer(
      static_cast<uint8_t*>(std::aligned_alloc(DirectFile::kAlign, chunk)), &std::free);
  if (!buffer) fail("out of memory for a {} MiB read buffer", chunk >> 20);
  file.drop_cached(0, total);  // so a buffered fallback measures the disk too
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  for (; done + chunk <= total; done += chunk) file.read(done, chunk, buffer.get(), "the bandwidth probe");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s > 0 ? done / s / 1e9 : 0;
}

}  // namespace smoe

// The progress bar of `smoe convert`: one line on stderr, redrawn in place at most ten times a
// second, showing tensors done / total, output bytes and the tensor being written. Silent
// unless enabled (the converter enables it only when stderr is a terminal).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace smoe {

class ConvertProgress {
 public:
  ConvertProgress(bool enabled, size_t total_tensors, uint64_t total_bytes);

  void start_tensor(const std::string& name);
  // Thread-safe: called by the workers as chunks of rows are finished.
  void add_bytes(uint64_t bytes);
  void finish_tensor();
  // Erases the bar (the summary line takes its place).
  void finish();

 private:
  const bool enabled_;
  const size_t total_tensors_;
  const uint64_t total_bytes_;
  size_t tensors_done_ = 0;
  std::atomic<uint64_t> bytes_done_{0};
  std::string current_;
  std::mutex draw_mutex_;
  std::chrono::steady_clock::time_point last_draw_{};

  void draw();
};

// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(uint64_t bytes);

}  // namespace smoe

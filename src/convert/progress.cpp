// Progress bar drawing (see progress.h).
#include "convert/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace smoe {

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", value, units[unit]);
}

ConvertProgress::ConvertProgress(bool enabled, size_t total_tensors, uint64_t total_bytes)
    : enabled_(enabled), total_tensors_(total_tensors), total_bytes_(total_bytes) {}

void ConvertProgress::start_tensor(const std::string& name) {
  if (!enabled_) return;
  {
    std::lock_guard lock(draw_mutex_);
    current_ = name;
  }
  draw();
}

void ConvertProgress::add_bytes(uint64_t bytes) {
  bytes_done_.fetch_add(bytes, std::memory_order_relaxed);
  if (enabled_) draw();
}

void ConvertProgress::finish_tensor() {
  if (!enabled_) return;
  {
    std::lock_guard lock(draw_mutex_);
    ++tensors_done_;
  }
  draw();
}

void ConvertProgress::finish() {
  if (!enabled_) return;
  std::lock_guard lock(draw_mutex_);
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
}

void ConvertProgress::draw() {
  // Workers skip a redraw another thread is doing rather than queue behind it.
  std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const uint64_t done = bytes_done_.load(std::memory_order_relaxed);
  const double fraction = total_bytes_ ? static_cast<double>(done) / static_cast<double>(total_bytes_) : 1.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth + 0.5);
  std::string bar(static_cast<size_t>(std::min(filled, kWidth)), '=');
  bar.resize(kWidth, ' ');
  // \x1b[K clears what a longer previous line left behind. Drawn from worker threads, so a
  // failing terminal must not throw out of them: the bar is only decoration.
  try {
    fmt::print(stderr, "\r[{}] {:3.0f}%  {}/{} tensors  {} / {}  {}\x1b[K", bar, fraction * 100, tensors_done_,
               total_tensors_, format_bytes(done), format_bytes(total_bytes_), current_);
    std::fflush(stderr);
  } catch (...) {
  }
}

}  // namespace smoe

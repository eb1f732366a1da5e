// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace smoe {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // Redraws at most ~10 times a second; `note` is shown after the counts.
  void update(int64_t done, int64_t total, const std::string& note = "");
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace smoe

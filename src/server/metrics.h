// Server counters, rendered in the Prometheus text format for GET /metrics. Written by the HTTP
// threads (requests) and the scheduler thread (tokens, steps); every member is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "model/expert_source.h"

namespace smoe::server {

// A cumulative histogram with fixed upper bounds, as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double value);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  Metrics();

  void count_request(const std::string& endpoint, int status);
  void add_prompt_tokens(int64_t n) { prompt_tokens_ += n; }
  void add_generated_tokens(int64_t n, std::chrono::steady_clock::time_point when);
  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  // One forward step of the scheduler: sequences decoding, prompt tokens prefilled.
  void observe_step(int64_t decoding, int64_t prefilled);

  // queue_length and active come from the scheduler at the moment of the scrape; `cache` is the
  // expert cache's statistics when the model has one (smoe serve --expert-cache).
  std::string render(int64_t queue_length, int64_t active, int64_t parallel,
                     const ExpertCacheStats* cache = nullptr) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>> recent_tokens_;  // last window
  std::atomic<int64_t> prompt_tokens_{0}, generated_tokens_{0}, steps_{0}, prefilled_tokens_{0};
  std::atomic<int64_t> last_batch_{0};
  Histogram ttft_;
  Histogram batch_;
};

}  // namespace smoe::server

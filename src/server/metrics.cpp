// Prometheus exposition of the server counters.
#include "server/metrics.h"

#include <fmt/format.h>

namespace smoe::server {
namespace {
// Generation speed is reported over the last few seconds, so it shows the current load.
constexpr auto kSpeedWindow = std::chrono::seconds(10);
}  // namespace

void Histogram::observe(double value) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++counts_[i];
  ++count_;
  sum_ += value;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mutex_);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  for (size_t i = 0; i < bounds_.size(); ++i)
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], counts_[i]);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      batch_({1, 2, 4, 8, 16, 32, 64}) {}

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::add_generated_tokens(int64_t n, std::chrono::steady_clock::time_point when) {
  generated_tokens_ += n;
  std::lock_guard lock(mutex_);
  recent_tokens_.emplace_back(when, n);
  while (!recent_tokens_.empty() && when - recent_tokens_.front().first > kSpeedWindow) recent_tokens_.pop_front();
}

void Metrics::observe_step(int64_t decoding, int64_t prefilled) {
  ++steps_;
  prefilled_tokens_ += prefilled;
  last_batch_ = decoding;
  if (decoding > 0) batch_.observe(static_cast<double>(decoding));
}

std::string Metrics::render(int64_t queue_length, int64_t active, int64_t parallel,
                            const ExpertCacheStats* cache) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  {
    std::lock_guard lock(mutex_);
    out += "# HELP smoe_requests_total HTTP requests answered, by endpoint and status.\n"
           "# TYPE smoe_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += fmt::format("smoe_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  }
  metric("smoe_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.", prompt_tokens_.load());
  metric("smoe_generated_tokens_total", "counter", "Tokens generated.", generated_tokens_.load());
  metric("smoe_prefilled_tokens_total", "counter", "Prompt tokens computed.", prefilled_tokens_.load());
  metric("smoe_steps_total", "counter", "Forward steps of the scheduler.", steps_.load());
  metric("smoe_queue_length", "gauge", "Requests waiting for a slot.", queue_length);
  metric("smoe_active_sequences", "gauge", "Requests holding a slot (prefilling or decoding).", active);
  metric("smoe_parallel_slots", "gauge", "Slots: sequences that can decode together (--parallel).", parallel);
  metric("smoe_batch_size", "gauge", "Sequences decoded together in the last step.", last_batch_.load());
  double tokens_per_second = 0;
  {
    std::lock_guard lock(mutex_);
    if (!recent_tokens_.empty()) {
      const double span =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - recent_tokens_.front().first).count();
      int64_t n = 0;
      for (const auto& [t, k] : recent_tokens_) n += k;
      // An idle server reports 0 once the window has passed.
      if (span <= std::chrono::duration<double>(kSpeedWindow).count()) tokens_per_second = n / std::max(span, 1.0);
    }
  }
  metric("smoe_generation_tokens_per_second", "gauge", "Tokens generated per second over the last 10 s.",
         tokens_per_second);
  batch_.render(out, "smoe_decode_batch_size", "Sequences decoded together per step.");
  ttft_.render(out, "smoe_time_to_first_token_seconds", "From request arrival to its first generated token.");
  if (cache) {
    metric("smoe_expert_cache_slots", "gauge", "Expert slots in the cache (--expert-cache).", cache->slots);
    metric("smoe_expert_cache_lookups_total", "counter", "Experts needed (once per layer and forward step).",
           cache->lookups);
    metric("smoe_expert_cache_hits_total", "counter", "Needed experts found in the cache or already being read.",
           cache->hits + cache->prefetch_hits);
    metric("smoe_expert_cache_prefetch_hits_total", "counter", "Needed experts there thanks to a prediction.",
           cache->prefetch_hits);
    metric("smoe_expert_cache_reads_total", "counter", "Experts read from the model file.", cache->reads);
    metric("smoe_expert_cache_read_bytes_total", "counter", "Bytes read from the model file.", cache->bytes_read);
    metric("smoe_expert_cache_stall_seconds_total", "counter", "Time the forward pass waited for expert data.",
           cache->stall_seconds);
  }
  return out;
}

}  // namespace smoe::server

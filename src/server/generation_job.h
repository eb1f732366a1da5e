// One request as the scheduler sees it, and the channel its tokens travel back on. The HTTP
// handler thread that owns the request waits on the channel; the scheduler thread pushes one
// event per generated token and a final one. Cancelling (the client went away) is seen by the
// scheduler before its next step, which then frees the request's slot.
#pragma once

#include "runtime/sampler.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smoe::server {

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};

struct JobEvent {
  bool final = false;
  // A generated token (final == false). text is what may be shown now (the stop matcher and the
  // UTF-8 decoder may hold some back, and release it with a later event).
  int32_t token = -1;
  std::string text;
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;             // when top_logprobs > 0, most likely first
  std::vector<std::vector<int32_t>> routing;  // when asked: experts per layer, highest weight first
  // The end (final == true).
  std::string finish_reason;  // "stop" or "length"; empty with an error
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;

  static JobEvent failed(std::string message) {
    JobEvent e;
    e.final = true;
    e.error = std::move(message);
    return e;
  }
  static JobEvent finished(std::string reason, int64_t prompt_tokens, int64_t completion_tokens) {
    JobEvent e;
    e.final = true;
    e.finish_reason = std::move(reason);
    e.prompt_tokens = prompt_tokens;
    e.completion_tokens = completion_tokens;
    return e;
  }
  // Text released at the end (held back by the decoder or the stop matcher), with no token.
  static JobEvent text_only(std::string text) {
    JobEvent e;
    e.text = std::move(text);
    return e;
  }
};

class JobChannel {
 public:
  void push(JobEvent event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    ready_.notify_one();
  }
  // The next event, or nothing if none arrives within `timeout` (the caller uses the pause to
  // probe its connection).
  std::optional<JobEvent> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    JobEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<JobEvent> events_;
  std::atomic<bool> cancelled_{false};
};

struct GenerationJob {
  std::vector<int32_t> prompt;
  int64_t max_tokens = 16;  // already clamped to the context
  SamplerParams sampling;
  float presence_penalty = 0;
  float frequency_penalty = 0;
  std::vector<std::string> stop;
  int32_t top_logprobs = 0;
  bool logprobs = false;
  bool routing = false;
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
  JobChannel channel;
};

}  // namespace smoe::server

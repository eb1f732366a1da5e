// Continuous batching. One thread owns the forward pass and every sequence's KV cache; requests
// wait in a bounded queue for one of `parallel` slots, and each step computes, in one forward
// pass, the next token of every decoding slot plus at most `prefill_chunk` prompt tokens of one
// prefilling slot, so a long prompt never stalls the others for more than one chunk. Requests
// join and leave between steps. Every slot samples with its own Sampler, and the forward pass
// gives each token the same bits whatever it is batched with, so a request's output does not
// depend on the other requests.
#pragma once

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "server/generation_job.h"
#include "server/metrics.h"
#include "server/stop_matcher.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

namespace smoe::server {

struct SchedulerOptions {
  int parallel = 4;             // slots: sequences decoding together
  int max_queue = 64;           // requests waiting beyond the slots; more are refused
  int64_t ctx = 0;              // context per slot; 0: the model's
  int64_t prefill_chunk = 64;   // prompt tokens computed per step
};

enum class Admission { Accepted, QueueFull, ShuttingDown };

class Scheduler {
 public:
  Scheduler(const Model& model, SchedulerOptions options, Metrics& metrics);
  ~Scheduler();  // stops (abandoning unfinished requests with an error) and joins
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the scheduler thread. Requests may be submitted before; they wait.
  void start();
  // Queues a job (its prompt and budget already checked against n_ctx()).
  Admission submit(std::shared_ptr<GenerationJob> job);
  // Refuses new requests and waits until the queued and running ones have finished.
  void drain();

  int64_t n_ctx() const { return n_ctx_; }
  int parallel() const { return options_.parallel; }
  int max_queue() const { return options_.max_queue; }
  int64_t queue_length() const;
  int64_t active() const;

 private:
  struct Slot {
    explicit Slot(KvCache c) : cache(std::move(c)) {}
    std::shared_ptr<GenerationJob> job;  // null: free
    KvCache cache;
    int64_t n_past = 0;          // positions in the cache
    size_t prompt_fed = 0;       // prompt tokens computed so far
    int32_t next_token = -1;     // sampled, to be fed in the next step
    std::vector<int32_t> history;  // prompt + generated (repetition penalty)
    std::unordered_map<int32_t, int32_t> generated_counts;  // presence / frequency penalties
    int64_t generated = 0;
    std::optional<Sampler> sampler;
    std::optional<StreamingDecoder> decoder;
    StopMatcher stop;
    std::vector<std::vector<int32_t>> routing;  // of the token whose logits are being computed
    int64_t routing_position = -1;
    bool first_token_seen = false;
  };

  const Model& model_;
  SchedulerOptions options_;
  Metrics& metrics_;
  int64_t n_ctx_;
  ForwardPass pass_;
  std::vector<Slot> slots_;  // touched only by the scheduler thread (after start)

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // a job arrived, or stop
  std::condition_variable idle_;     // nothing queued or running
  std::deque<std::shared_ptr<GenerationJob>> queue_;
  int64_t active_ = 0;
  bool accepting_ = true;
  bool stopping_ = false;
  std::thread thread_;

  std::vector<float> logits_;
  std::vector<float> scratch_;

  void run();
  // Moves queued jobs into free slots and drops cancelled ones; returns true if any slot is busy.
  bool admit();
  void step();
  void start_job(Slot& slot, std::shared_ptr<GenerationJob> job);
  // Samples the next token of a slot from its logits row and reports it; may finish the job.
  void take_token(Slot& slot, const float* row);
  void finish(Slot& slot, const std::string& reason, const std::string& error = "");
  void release(Slot& slot);
};

// OpenAI's presence and frequency penalties over the tokens generated so far.
void apply_openai_penalties(std::span<float> logits, const std::unordered_map<int32_t, int32_t>& counts,
                            float presence, float frequency);

// log softmax of one row at `token`, and the k most likely tokens with theirs (most likely first).
TokenLogprob token_logprob(std::span<const float> logits, int32_t token);
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k);

}  // namespace smoe::server

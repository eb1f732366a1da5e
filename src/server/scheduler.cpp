// The scheduler thread: admission, one batched forward step at a time, sampling per slot.
#include "server/scheduler.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace smoe::server {

Scheduler::Scheduler(const Model& model, SchedulerOptions options, Metrics& metrics)
    : model_(model),
      options_(options),
      metrics_(metrics),
      n_ctx_(options.ctx > 0 ? options.ctx : model.config().context_length),
      pass_(model) {
  const ModelConfig& c = model.config();
  if (options.parallel < 1) fail("--parallel must be at least 1 (got {})", options.parallel);
  if (options.max_queue < 0) fail("the queue size must be >= 0 (got {})", options.max_queue);
  if (options.prefill_chunk < 1) fail("the prefill chunk must be >= 1 (got {})", options.prefill_chunk);
  if (n_ctx_ > c.context_length) fail("context size {} exceeds the model's context length {}", n_ctx_, c.context_length);
  if (!model.has_tokenizer()) fail("the model has no tokenizer: the server needs one");
  slots_.reserve(options.parallel);
  for (int i = 0; i < options.parallel; ++i)
    slots_.emplace_back(KvCache(c.n_layer, n_ctx_, c.kv_dim(), c.sliding_window, options.prefill_chunk));
  // Routing is recorded for the one token per slot whose logits the step computes.
  pass_.set_routing_observer([this](int64_t layer, int32_t seq, int64_t position, std::span<const ExpertChoice> choices) {
    Slot& s = slots_[seq];
    if (!s.job || !s.job->routing || position != s.routing_position) return;
    auto& experts = s.routing[layer];
    experts.clear();
    for (const ExpertChoice& choice : choices) experts.push_back(choice.expert);
  });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    accepting_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Slot& s : slots_)
    if (s.job) s.job->channel.push(JobEvent::failed("the server stopped"));
  for (auto& job : queue_) job->channel.push(JobEvent::failed("the server stopped"));
}

void Scheduler::start() { thread_ = std::thread([this] { run(); }); }

Admission Scheduler::submit(std::shared_ptr<GenerationJob> job) {
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return Admission::ShuttingDown;
    if (static_cast<int64_t>(queue_.size()) + active_ >= options_.parallel + options_.max_queue)
      return Admission::QueueFull;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return Admission::Accepted;
}

void Scheduler::drain() {
  std::unique_lock lock(mutex_);
  accepting_ = false;
  idle_.wait(lock, [&] { return active_ == 0 && queue_.empty(); });
}

int64_t Scheduler::queue_length() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

int64_t Scheduler::active() const {
  std::lock_guard lock(mutex_);
  return active_;
}

void Scheduler::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || active_ > 0; });
      if (stopping_) return;
    }
    if (!admit()) continue;
    try {
      step();
    } catch (const std::exception& e) {
      // A failed step leaves the caches of its sequences unusable: end them all with the error.
      for (Slot& s : slots_)
        if (s.job) finish(s, "", e.what());
    }
  }
}

bool Scheduler::admit() {
  for (Slot& s : slots_)
    if (s.job && s.job->channel.cancelled()) release(s);
  std::lock_guard lock(mutex_);
  std::erase_if(queue_, [](const auto& job) { return job->channel.cancelled(); });
  for (Slot& s : slots_) {
    if (queue_.empty()) break;
    if (s.job) continue;
    start_job(s, std::move(queue_.front()));
    queue_.pop_front();
    ++active_;
  }
  if (active_ == 0 && queue_.empty()) idle_.notify_all();
  return active_ > 0;
}

void Scheduler::start_job(Slot& slot, std::shared_ptr<GenerationJob> job) {
  slot.n_past = 0;
  slot.prompt_fed = 0;
  slot.next_token = -1;
  slot.history = job->prompt;
  slot.generated_counts.clear();
  slot.generated = 0;
  slot.sampler.emplace(job->sampling);
  slot.decoder.emplace(model_.tokenizer());
  slot.stop = StopMatcher(job->stop);
  slot.routing.assign(model_.config().n_layer, {});
  slot.routing_position = -1;
  slot.first_token_seen = false;
  metrics_.add_prompt_tokens(static_cast<int64_t>(job->prompt.size()));
  slot.job = std::move(job);
}

void Scheduler::step() {
  std::vector<BatchToken> batch;
  std::vector<size_t> logit_rows;  // slot index of each logits row, in batch order
  std::vector<int64_t> fed(slots_.size(), 0);
  int64_t decoding = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (!s.job || s.next_token < 0) continue;
    batch.push_back({s.next_token, static_cast<int32_t>(i), s.n_past, true});
    logit_rows.push_back(i);
    s.routing_position = s.n_past;
    fed[i] = 1;
    ++decoding;
  }
  // One prompt chunk per step, from the request that has waited longest.
  Slot* prefill = nullptr;
  for (Slot& s : slots_)
    if (s.job && s.prompt_fed < s.job->prompt.size() && (!prefill || s.job->received < prefill->job->received))
      prefill = &s;
  int64_t prefilled = 0;
  if (prefill) {
    const size_t i = static_cast<size_t>(prefill - slots_.data());
    const auto& prompt = prefill->job->prompt;
    prefilled = std::min<int64_t>(options_.prefill_chunk, static_cast<int64_t>(prompt.size() - prefill->prompt_fed));
    for (int64_t j = 0; j < prefilled; ++j) {
      const size_t k = prefill->prompt_fed + j;
      const bool last = k + 1 == prompt.size();
      batch.push_back({prompt[k], static_cast<int32_t>(i), prefill->n_past + j, last});
      if (last) {
        logit_rows.push_back(i);
        prefill->routing_position = prefill->n_past + j;
      }
    }
    fed[i] = prefilled;
  }
  if (batch.empty()) return;

  std::vector<KvCache*> caches;
  for (size_t i = 0; i < slots_.size(); ++i) {
    caches.push_back(&slots_[i].cache);
    if (fed[i] > 0) slots_[i].cache.reserve(slots_[i].n_past + fed[i]);
  }
  const int64_t vocab = model_.config().vocab;
  logits_.resize(logit_rows.size() * vocab);
  pass_.run(batch, caches, logits_.data());
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].n_past += fed[i];
  if (prefill) prefill->prompt_fed += prefilled;
  metrics_.observe_step(decoding, prefilled);

  for (size_t r = 0; r < logit_rows.size(); ++r) take_token(slots_[logit_rows[r]], logits_.data() + r * vocab);
  metrics_.add_generated_tokens(static_cast<int64_t>(logit_rows.size()), std::chrono::steady_clock::now());
}

void Scheduler::take_token(Slot& slot, const float* row) {
  GenerationJob& job = *slot.job;
  const std::span<const float> logits(row, model_.config().vocab);
  std::span<const float> to_sample = logits;
  if (job.presence_penalty != 0 || job.frequency_penalty != 0) {
    scratch_.assign(logits.begin(), logits.end());
    apply_openai_penalties(scratch_, slot.generated_counts, job.presence_penalty, job.frequency_penalty);
    to_sample = scratch_;
  }
  const int32_t token = slot.sampler->sample(to_sample, slot.history);
  if (!slot.first_token_seen) {
    slot.first_token_seen = true;
    metrics_.observe_time_to_first_token(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - job.received).count());
  }
  if (token == model_.tokenizer().eos_id()) return finish(slot, "stop");

  JobEvent event;
  event.token = token;
  if (job.logprobs) {
    event.chosen = token_logprob(logits, token);
    if (job.top_logprobs > 0) event.top = top_logprobs(logits, job.top_logprobs);
  }
  if (job.routing) event.routing = slot.routing;
  ++slot.generated;
  slot.history.push_back(token);
  ++slot.generated_counts[token];
  event.text = slot.stop.push(slot.decoder->push(token));
  job.channel.push(std::move(event));
  if (slot.stop.stopped()) return finish(slot, "stop");
  if (slot.generated >= job.max_tokens || slot.n_past >= n_ctx_) return finish(slot, "length");
  slot.next_token = token;
}

void Scheduler::finish(Slot& slot, const std::string& reason, const std::string& error) {
  GenerationJob& job = *slot.job;
  if (!error.empty()) {
    job.channel.push(JobEvent::failed(error));
  } else {
    // What the decoder and the stop matcher still hold is real text once no stop string matched.
    std::string rest = slot.stop.push(slot.decoder->finish());
    rest += slot.stop.finish();
    if (!rest.empty()) job.channel.push(JobEvent::text_only(std::move(rest)));
    job.channel.push(JobEvent::finished(reason, static_cast<int64_t>(job.prompt.size()), slot.generated));
  }
  release(slot);
}

void Scheduler::release(Slot& slot) {
  slot.job.reset();
  slot.next_token = -1;
  std::lock_guard lock(mutex_);
  --active_;
  if (active_ == 0 && queue_.empty()) idle_.notify_all();
}

void apply_openai_penalties(std::span<float> logits, const std::unordered_map<int32_t, int32_t>& counts,
                            float presence, float frequency) {
  for (const auto& [token, count] : counts)
    if (token >= 0 && static_cast<size_t>(token) < logits.size())
      logits[token] -= presence * (count > 0 ? 1.0f : 0.0f) + frequency * static_cast<float>(count);
}

namespace {
double log_sum_exp(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  return max + std::log(sum);
}
}  // namespace

TokenLogprob token_logprob(std::span<const float> logits, int32_t token) {
  return {token, static_cast<float>(logits[token] - log_sum_exp(logits))};
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k) {
  const double lse = log_sum_exp(logits);
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  k = std::min<int32_t>(k, static_cast<int32_t>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::vector<TokenLogprob> top;
  for (int32_t i = 0; i < k; ++i) top.push_back({ids[i], static_cast<float>(logits[ids[i]] - lse)});
  return top;
}

}  // namespace smoe::server

// Benchmark phases: prompt, decode, batched decode, bandwidth probe.
#include "runtime/bench.h"

#include "cache/direct_file.h"
#include "core/error.h"
#include "core/memory_bandwidth.h"
#include "core/process_memory.h"
#include "model/session.h"
#include "runtime/sampler.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>

namespace smoe {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, std::mt19937_64& rng) {
  std::vector<int32_t> t(n);
  // Skip the first ids (control and byte pieces in SentencePiece vocabularies).
  const int64_t first = std::min<int64_t>(vocab - 1, 259);
  for (auto& id : t) id = static_cast<int32_t>(first + static_cast<int64_t>(rng() % (vocab - first)));
  return t;
}

}  // namespace

BenchResult run_bench(const Model& model, const BenchOptions& o, const std::function<void(const std::string&)>& progress) {
  const ModelConfig& c = model.config();
  if (o.prompt_tokens < 1 || o.decode_tokens < 1) fail("bench needs at least one prompt and one decoded token");
  if (o.prompt_tokens + o.decode_tokens > c.context_length)
    fail("-p {} plus -n {} exceed the model's context length {}", o.prompt_tokens, o.decode_tokens, c.context_length);
  auto say = [&](const std::string& m) {
    if (progress) progress(m);
  };
  std::mt19937_64 rng(o.seed);
  BenchResult r;
  std::vector<float> logits;

  ExpertSource* cache = model.expert_source();
  r.expert_cache = cache != nullptr;
  if (cache) cache->reset_stats();
  say("prompt processing");
  std::vector<double> prompt_tps;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    const auto prompt = random_tokens(o.prompt_tokens, c.vocab, rng);
    Session s(model, o.prompt_tokens + 1, std::max<int64_t>(Session::kDefaultMaxChunk, o.prompt_tokens));
    const auto t0 = Clock::now();
    s.eval(prompt, false, logits);
    prompt_tps.push_back(o.prompt_tokens / seconds_since(t0));
  }
  r.prompt_tokens_per_s = median(prompt_tps);
  if (cache) {
    r.prompt_cache = cache->stats();
    cache->reset_stats();
  }

  // Decoding starts after a short prompt so attention is cheap, as in llama-bench's tg test.
  say("decode");
  std::vector<double> decode_tps;
  for (int rep = 0; rep < o.repetitions; ++rep) {
    Session s(model, o.decode_tokens + 8);
    s.eval(random_tokens(4, c.vocab, rng), false, logits);
    ForwardPass pass(model);
    std::vector<Session*> one = {&s};
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < o.decode_tokens; ++i) {
      const int32_t next = argmax(logits);
      decode_batch(pass, one, std::span(&next, 1), logits);
    }
    decode_tps.push_back(o.decode_tokens / seconds_since(t0));
    r.bytes_per_token = pass.stats().weight_bytes / static_cast<uint64_t>(pass.stats().tokens);
  }
  r.decode_tokens_per_s = median(decode_tps);
  if (cache) r.decode_cache = cache->stats();

  if (o.batch > 1) {
    say("batched decode");
    std::vector<double> batch_tps;
    for (int rep = 0; rep < o.repetitions; ++rep) {
      std::vector<std::unique_ptr<Session>> sessions;
      std::vector<Session*> ptrs;
      std::vector<int32_t> next;
      for (int64_t b = 0; b < o.batch; ++b) {
        sessions.push_back(std::make_unique<Session>(model, o.decode_tokens + 8));
        sessions.back()->eval(random_tokens(4, c.vocab, rng), false, logits);
        ptrs.push_back(sessions.back().get());
        next.push_back(argmax(logits));
      }
      ForwardPass pass(model);
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < o.decode_tokens; ++i) {
        decode_batch(pass, ptrs, next, logits);
        for (int64_t b = 0; b < o.batch; ++b)
          next[b] = argmax(std::span(logits).subspan(b * c.vocab, c.vocab));
      }
      batch_tps.push_back(o.batch * o.decode_tokens / seconds_since(t0));
      r.batch_bytes_per_step = pass.stats().weight_bytes / static_cast<uint64_t>(pass.stats().passes);
    }
    r.batch_decode_tokens_per_s = median(batch_tps);
  }
  r.peak_rss_bytes = peak_rss_bytes();

  say("memory bandwidth");
  r.read_bandwidth_gbps = measure_read_bandwidth_gbps(size_t{1} << 30, o.threads);
  say("disk read bandwidth");
  const auto files = model.mapped_files();
  const auto largest = std::max_element(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.size < b.size; });
  if (largest != files.end()) r.disk_read_gbps = measure_disk_read_gbps(largest->path, uint64_t{2} << 30);
  r.achieved_gbps = static_cast<double>(r.bytes_per_token) * r.decode_tokens_per_s / 1e9;
  r.roofline_fraction = r.read_bandwidth_gbps > 0 ? r.achieved_gbps / r.read_bandwidth_gbps : 0;
  if (r.batch_bytes_per_step > 0)
    r.batch_bound_tokens_per_s = r.read_bandwidth_gbps * 1e9 / static_cast<double>(r.batch_bytes_per_step) * o.batch;
  return r;
}

}  // namespace smoe

// Shared helpers of the expert cache tests: a model with a cache of a given size, and the logits
// of a fixed workload (prefill, incremental decoding, batched decoding) to compare bit for bit.
#pragma once

#include "cache/cache_report.h"
#include "model/model.h"
#include "model/session.h"
#include "runtime/sampler.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace smoe::test {

inline std::unique_ptr<Model> load_with_cache(const std::string& path, const std::string& budget,
                                              EvictionPolicy policy = EvictionPolicy::Lru, bool prefetch = true) {
  auto model = Model::load(path);
  ExpertCacheOptions o;
  o.budget = parse_expert_cache_budget(budget);
  o.policy = policy;
  o.prefetch = prefetch;
  attach_expert_cache(*model, o);
  return model;
}

// Every logit the workload produces, concatenated: all rows of a prefill of `prompt`, 6 greedy
// steps one token at a time, then 4 greedy steps of 3 sequences decoding together.
inline std::vector<float> workload_logits(const Model& model, const std::vector<int32_t>& prompt) {
  const int64_t vocab = model.config().vocab;
  std::vector<float> all, logits;
  Session session(model);
  session.eval(prompt, true, logits);
  all.insert(all.end(), logits.begin(), logits.end());
  logits.assign(logits.end() - vocab, logits.end());
  for (int step = 0; step < 6; ++step) {
    const int32_t next = argmax(logits);
    session.eval(std::span(&next, 1), false, logits);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session*> ptrs;
  std::vector<int32_t> next;
  for (int s = 0; s < 3; ++s) {
    sessions.push_back(std::make_unique<Session>(model));
    std::vector<int32_t> p(prompt.begin(), prompt.begin() + 2 + s);
    sessions.back()->eval(p, false, logits);
    ptrs.push_back(sessions.back().get());
    next.push_back(argmax(logits));
  }
  ForwardPass pass(model);
  for (int step = 0; step < 4; ++step) {
    decode_batch(pass, ptrs, next, logits);
    all.insert(all.end(), logits.begin(), logits.end());
    for (int s = 0; s < 3; ++s) next[s] = argmax(std::span(logits).subspan(s * vocab, vocab));
  }
  return all;
}

inline bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace smoe::test

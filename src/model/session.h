// One sequence being computed: a KV cache and its position, over the shared model. Prompts are
// computed in chunks of up to max_chunk tokens; decode_batch() advances several sessions by one
// token each in a single forward pass (the weight reads shared among them).
#pragma once

#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

#include <cstdint>
#include <span>
#include <vector>

namespace smoe {

class Session {
 public:
  static constexpr int64_t kDefaultMaxChunk = 256;

  // n_ctx: the longest sequence this session may hold (<= the model's context_length); 0 means
  // the model's context_length. max_chunk: most tokens computed together (bounds the activation
  // memory, and the extra ring slots of a sliding-window cache).
  explicit Session(const Model& model, int64_t n_ctx = 0, int64_t max_chunk = kDefaultMaxChunk);

  // Appends `tokens` at positions n_past() ... and computes them. Writes logits for every token
  // ([tokens.size() x vocab]) when all_logits, else only for the last ([vocab]).
  // Throws smoe::Error (and changes nothing) for an id outside the vocabulary or when the
  // context would overflow.
  void eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return kv_.n_ctx(); }
  int64_t kv_slots() const { return kv_.slots(); }
  // Forgets positions >= n (keeps the cache of the first n). With a sliding window, rewinding
  // into positions the ring has overwritten is refused.
  void truncate(int64_t n);
  void set_routing_observer(RoutingObserver observer) { forward_.set_routing_observer(std::move(observer)); }
  const Model& model() const { return model_; }

  // Checks that `tokens` can be appended (valid ids, room in the context); throws smoe::Error.
  void check_append(std::span<const int32_t> tokens) const;

 private:
  const Model& model_;
  const ModelConfig& cfg_;
  KvCache kv_;
  ForwardPass forward_;
  int64_t max_chunk_;
  int64_t n_past_ = 0;
  int64_t oldest_intact_ = 0;  // lowest position whose keys the ring has not overwritten

  void advance(int64_t n);

  friend void decode_batch(ForwardPass&, std::span<Session* const>, std::span<const int32_t>, std::vector<float>&);
};

// Appends tokens[i] to sessions[i] for every i, computed as one batch by `pass` (which must be
// over the same model); logits are [sessions.size() x vocab]. Each session's logits equal what
// its own eval() would give. Throws smoe::Error, changing nothing, if any append is invalid.
void decode_batch(ForwardPass& pass, std::span<Session* const> sessions, std::span<const int32_t> tokens,
                  std::vector<float>& logits);

}  // namespace smoe

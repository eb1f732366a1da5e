// One sequence being computed: the forward pass over a model with its own KV cache.
//
// Shapes (per chunk of the batch): n = tokens in the chunk, D = dim, Q = n_head * head_dim,
// KV = n_kv_head * head_dim, H = hidden, E = experts per layer, V = vocab.
// Prefill of a whole prompt and token-by-token decoding run the same code with n = chunk size
// or 1 and give bit-identical logits.
#pragma once

#include "model/kv_cache.h"
#include "model/model.h"
#include "moe/router.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace smoe {

// Called for every token and layer with the experts the router chose (highest weight first).
using RoutingObserver =
    std::function<void(int64_t layer, int64_t position, std::span<const ExpertChoice> choices)>;

class Session {
 public:
  // n_ctx: the longest sequence this session may hold (<= the model's context_length);
  // 0 means the model's context_length. max_chunk: most tokens computed together (bounds the
  // activation memory, and the extra ring slots of a sliding-window cache).
  explicit Session(const Model& model, int64_t n_ctx = 0, int64_t max_chunk = kDefaultMaxChunk);

  // Appends `tokens` at positions n_past() ... and computes them. Writes logits for every token
  // ([tokens.size() x vocab]) when all_logits, else only for the last ([vocab]).
  // Throws smoe::Error for an id outside the vocabulary or when the context would overflow.
  void eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return kv_.n_ctx(); }
  // Forgets positions >= n (keeps the cache of the first n). With a sliding window, rewinding
  // further than the ring's spare slots is refused (those keys are overwritten).
  void truncate(int64_t n);
  int64_t kv_slots() const { return kv_.slots(); }
  void set_routing_observer(RoutingObserver observer) { observer_ = std::move(observer); }
  const Model& model() const { return model_; }
  static constexpr int64_t kDefaultMaxChunk = 256;

 private:
  const Model& model_;
  const ModelConfig& cfg_;
  KvCache kv_;
  int64_t oldest_intact_ = 0;  // lowest position whose keys the ring has not overwritten
  int64_t max_chunk_;
  int64_t n_past_ = 0;
  RoutingObserver observer_;

  // Activations of one chunk, reused between calls.
  std::vector<float> x_;       // [n x D] residual stream
  std::vector<float> xn_;      // [n x D] normalized input of a sub-block
  std::vector<float> q_;       // [n x Q]
  std::vector<float> k_;       // [n x KV]
  std::vector<float> v_;       // [n x KV]
  std::vector<float> attn_;    // [n x Q] attention output per head
  std::vector<float> proj_;    // [n x D] output of a projection, added to the residual
  std::vector<float> router_;  // [n x E] router logits
  std::vector<float> xe_;      // [m x D] the tokens routed to one expert (gathered)
  std::vector<float> gate_;    // [m x H]
  std::vector<float> up_;      // [m x H]
  std::vector<float> down_;    // [m x D]

  void forward_chunk(const int32_t* tokens, int64_t n, bool all_logits, float* logits);
  void attention(int64_t il, int64_t n, int64_t pos0);
  void feed_forward(int64_t il, int64_t n, int64_t pos0);
};

}  // namespace smoe

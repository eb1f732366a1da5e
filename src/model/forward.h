// The Mixtral forward pass over one batch of tokens that may come from several sequences, each
// with its own KV cache: RMSNorm -> grouped-query attention with RoPE -> RMSNorm -> top-k routed
// SwiGLU experts. Every weight matrix is read once per batch: the projections are matrix-matrix
// products over all tokens, and the tokens routed to an expert are gathered and multiplied
// together, so B sequences decoding together share the reads of attention weights and experts.
//
// Each token's result depends only on its own sequence, never on what it is batched with (the
// kernels give the same bits per row and token at any batch size), so a request's output is the
// same alone or among others.
//
// Shapes: n = tokens in the batch, D = dim, Q = n_head * head_dim, KV = n_kv_head * head_dim,
// H = hidden, E = experts per layer, V = vocab.
#pragma once

#include "model/kv_cache.h"
#include "model/model.h"
#include "moe/router.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace smoe {

struct BatchToken {
  int32_t token = 0;
  int32_t seq = 0;         // index into the caches passed to run()
  int64_t pos = 0;         // position in its sequence; its cache must hold positions < pos
  bool want_logits = false;
};

// Called for every token and layer with the experts the router chose (highest weight first).
using RoutingObserver = std::function<void(int64_t layer, int32_t seq, int64_t position,
                                           std::span<const ExpertChoice> choices)>;

// What the forward passes have done since the last reset: for benchmarks and reports.
struct ForwardStats {
  int64_t passes = 0;
  int64_t tokens = 0;
  uint64_t weight_bytes = 0;  // bytes of weights read (each matrix counted once per pass)
  int64_t expert_activations = 0;  // (layer, expert) pairs computed, summed over passes
};

class ForwardPass {
 public:
  explicit ForwardPass(const Model& model);

  // Computes the batch, writing each token's keys and values into caches[token.seq] at its
  // position. Logits of the tokens with want_logits go to `logits`, [count x V] in batch order.
  // Requires a valid batch (ids in the vocabulary, positions inside the caches); callers check.
  void run(std::span<const BatchToken> batch, std::span<KvCache* const> caches, float* logits);

  void set_routing_observer(RoutingObserver observer) { observer_ = std::move(observer); }
  const ForwardStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  const Model& model() const { return model_; }

 private:
  const Model& model_;
  const ModelConfig& cfg_;
  ExpertSource* expert_source_;  // the model's expert cache, or nullptr: experts read in place
  RoutingObserver observer_;
  ForwardStats stats_;

  // Activations, reused between calls.
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
  std::vector<float> guess_xn_;      // [n x D] next layer's normalized input, as guessed now
  std::vector<float> guess_router_;  // [n x E] next layer's router logits on that guess

  void attention(int64_t il, std::span<const BatchToken> batch, std::span<KvCache* const> caches);
  void feed_forward(int64_t il, std::span<const BatchToken> batch);
  // Tells the expert source which experts layer il + 1 will probably need: its router applied
  // to the current residual stream (as mixtral-offloading does), so it can read them early.
  void predict_next_experts(int64_t il, int64_t n);
};

}  // namespace smoe

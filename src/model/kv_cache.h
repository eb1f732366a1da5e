// Keys and values of past positions, per layer, in float32.
//
// Without a sliding window a position has its own slot, and storage grows with use up to the
// context size (a 32768-token context costs memory only once it is filled). With a window of W
// the cache is a ring of W + max_chunk slots: a query attends to at most W keys, and the extra
// max_chunk slots keep the keys that earlier queries of the same chunk still need while the
// chunk's own keys are written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace smoe {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t window = 0, int64_t max_chunk = 0);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  // Slots in the ring (n_ctx when positions never share a slot).
  int64_t slots() const { return slots_; }
  // Makes room for positions [0, n_positions); n_positions <= n_ctx.
  void reserve(int64_t n_positions);

  // [kv_dim] for one layer and position.
  float* key(int64_t layer, int64_t pos) { return keys_[layer].data() + slot(pos) * kv_dim_; }
  float* value(int64_t layer, int64_t pos) { return values_[layer].data() + slot(pos) * kv_dim_; }
  const float* key(int64_t layer, int64_t pos) const { return keys_[layer].data() + slot(pos) * kv_dim_; }
  const float* value(int64_t layer, int64_t pos) const { return values_[layer].data() + slot(pos) * kv_dim_; }

  size_t bytes_allocated() const;

 private:
  int64_t n_ctx_;
  int64_t kv_dim_;
  int64_t slots_;
  int64_t capacity_ = 0;
  std::vector<std::vector<float>> keys_;    // [n_layer][capacity x kv_dim]
  std::vector<std::vector<float>> values_;  // [n_layer][capacity x kv_dim]

  int64_t slot(int64_t pos) const { return pos % slots_; }
};

}  // namespace smoe

// Growth policy of the KV cache: doubling, capped at the context size.
#include "model/kv_cache.h"

#include <algorithm>

namespace smoe {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
    : n_ctx_(n_ctx), kv_dim_(kv_dim), keys_(n_layer), values_(n_layer) {}

void KvCache::reserve(int64_t n_positions) {
  if (n_positions <= capacity_) return;
  const int64_t capacity = std::min(n_ctx_, std::max<int64_t>({n_positions, 2 * capacity_, 256}));
  for (auto& k : keys_) k.resize(capacity * kv_dim_);
  for (auto& v : values_) v.resize(capacity * kv_dim_);
  capacity_ = capacity;
}

size_t KvCache::bytes_allocated() const {
  return 2 * keys_.size() * static_cast<size_t>(capacity_ * kv_dim_) * sizeof(float);
}

}  // namespace smoe

// Growth policy of the KV cache: doubling, capped at the number of slots.
#include "model/kv_cache.h"

#include <algorithm>

namespace smoe {

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t window, int64_t max_chunk)
    : n_ctx_(n_ctx),
      kv_dim_(kv_dim),
      slots_(window > 0 ? std::min(n_ctx, window + std::max<int64_t>(max_chunk, 1)) : n_ctx),
      keys_(n_layer),
      values_(n_layer) {}

void KvCache::reserve(int64_t n_positions) {
  const int64_t needed = std::min(n_positions, slots_);
  if (needed <= capacity_) return;
  const int64_t capacity = std::min(slots_, std::max<int64_t>({needed, 2 * capacity_, 256}));
  for (auto& k : keys_) k.resize(capacity * kv_dim_);
  for (auto& v : values_) v.resize(capacity * kv_dim_);
  capacity_ = capacity;
}

size_t KvCache::bytes_allocated() const {
  return 2 * keys_.size() * static_cast<size_t>(capacity_ * kv_dim_) * sizeof(float);
}

}  // namespace smoe

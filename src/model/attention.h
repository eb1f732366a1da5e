// Causal attention of one token over its sequence's KV cache, in key tiles with an online
// softmax (the flash-attention scheme): no score row as long as the context is ever held, and
// each key and value vector is read once for all the query heads that share it (grouped-query
// attention).
//
// The result of a query head depends only on its own query, its key range and the cache, never
// on the other heads or tokens computed alongside: tiles start at absolute positions (multiples
// of kAttentionKeyTile), so prefill, incremental decoding and batched decoding give the same
// bits.
#pragma once

#include "model/kv_cache.h"

#include <cstdint>
#include <vector>

namespace smoe {

inline constexpr int64_t kAttentionKeyTile = 64;

// Per-thread working memory of attend_kv_group, reused between calls.
struct AttentionScratch {
  std::vector<float> scores;  // [heads x kAttentionKeyTile]
  std::vector<float> max;     // [heads] running maximum of the scores
  std::vector<double> sum;    // [heads] running sum of exp(score - max)
};

// The `heads` query heads q[h * head_dim ..] that share the KV head whose vectors start at
// kv_offset within a cache row attend to the keys at positions [first, last] of `layer`:
// out[h * head_dim ..] = softmax(scale * q_h . k_j) weighted sum of v_j.
void attend_kv_group(const float* q, int64_t heads, int64_t head_dim, const KvCache& cache, int64_t layer,
                     int64_t kv_offset, int64_t first, int64_t last, float scale, float* out,
                     AttentionScratch& scratch);

}  // namespace smoe

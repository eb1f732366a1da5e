// Tiled causal attention with an online softmax (see attention.h).
#include "model/attention.h"

#include "kernels/kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace smoe {

void attend_kv_group(const float* q, int64_t heads, int64_t head_dim, const KvCache& cache, int64_t layer,
                     int64_t kv_offset, int64_t first, int64_t last, float scale, float* out,
                     AttentionScratch& scratch) {
  const int64_t T = kAttentionKeyTile;
  const FloatVectorOps vec = float_vector_ops();
  scratch.scores.resize(static_cast<size_t>(heads * T));
  scratch.max.assign(static_cast<size_t>(heads), -std::numeric_limits<float>::infinity());
  scratch.sum.assign(static_cast<size_t>(heads), 0.0);
  float* scores = scratch.scores.data();
  std::fill_n(out, heads * head_dim, 0.0f);

  for (int64_t j0 = first / T * T; j0 <= last; j0 += T) {
    const int64_t a = std::max(j0, first), b = std::min(j0 + T - 1, last);
    const int64_t count = b - a + 1;
    // Scores of the tile: each key read once for every head of the group.
    for (int64_t j = 0; j < count; ++j) {
      const float* k = cache.key(layer, a + j) + kv_offset;
      for (int64_t h = 0; h < heads; ++h) scores[h * T + j] = vec.dot(q + h * head_dim, k, head_dim) * scale;
    }
    // Online softmax: rescale what was accumulated under the previous maximum.
    for (int64_t h = 0; h < heads; ++h) {
      float* s = scores + h * T;
      const float tile_max = *std::max_element(s, s + count);
      const float old_max = scratch.max[h];
      const float new_max = std::max(old_max, tile_max);
      if (new_max > old_max && old_max != -std::numeric_limits<float>::infinity()) {
        const float correction = std::exp(old_max - new_max);
        scratch.sum[h] *= correction;
        vec.scale(correction, out + h * head_dim, head_dim);
      }
      scratch.max[h] = new_max;
      double sum = scratch.sum[h];
      for (int64_t j = 0; j < count; ++j) {
        s[j] = std::exp(s[j] - new_max);
        sum += s[j];
      }
      scratch.sum[h] = sum;
    }
    // Weighted values: each value vector read once for every head.
    for (int64_t j = 0; j < count; ++j) {
      const float* v = cache.value(layer, a + j) + kv_offset;
      for (int64_t h = 0; h < heads; ++h) vec.axpy(scores[h * T + j], v, out + h * head_dim, head_dim);
    }
  }
  for (int64_t h = 0; h < heads; ++h) {
    vec.scale(static_cast<float>(1.0 / scratch.sum[h]), out + h * head_dim, head_dim);
  }
}

}  // namespace smoe

// Element-wise transformer operations (scalar; they are a small share of the time).
#include "model/ops.h"

#include <algorithm>
#include <cmath>

namespace smoe {

void rms_norm(const float* x, const float* weight, float eps, int64_t n, float* out) {
  double sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void apply_rope(float* heads, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t position,
                float base, RopeStyle style) {
  const int64_t half = rope_dim / 2;
  // Angles in double: at position 30000 a float angle would already be off by ~1e-3 rad.
  float cos_t[512], sin_t[512];
  for (int64_t i = 0; i < half; i += 512) {
    const int64_t m = std::min<int64_t>(512, half - i);
    for (int64_t j = 0; j < m; ++j) {
      const double inv_freq = std::pow(static_cast<double>(base), -2.0 * static_cast<double>(i + j) / rope_dim);
      const double angle = static_cast<double>(position) * inv_freq;
      cos_t[j] = static_cast<float>(std::cos(angle));
      sin_t[j] = static_cast<float>(std::sin(angle));
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = heads + h * head_dim;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t k = i + j;
        // Adjacent pairs (GGUF): (v[2k], v[2k+1]); halves (Hugging Face): (v[k], v[k + half]).
        const int64_t a = style == RopeStyle::AdjacentPairs ? 2 * k : k;
        const int64_t b = style == RopeStyle::AdjacentPairs ? 2 * k + 1 : k + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos_t[j] - x1 * sin_t[j];
        v[b] = x0 * sin_t[j] + x1 * cos_t[j];
      }
    }
  }
}

void swiglu(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace smoe

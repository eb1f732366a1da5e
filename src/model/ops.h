// The small element-wise operations of the transformer, on float32 activations.
// Reductions accumulate in double so that results sit close to the float64 reference.
#pragma once

#include "model/config.h"

#include <cstdint>

namespace smoe {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]; out may alias x.
void rms_norm(const float* x, const float* weight, float eps, int64_t n, float* out);

// Rotates the first rope_dim values of each of n_heads heads (head_dim apart) of one token at
// `position`, pairing dimensions as `style` says. theta_i = position * base^(-2i / rope_dim).
void apply_rope(float* heads, int64_t n_heads, int64_t head_dim, int64_t rope_dim, int64_t position,
                float base, RopeStyle style);

// silu(g) * u, element-wise, into g.
void swiglu(float* g, const float* u, int64_t n);

// In-place softmax over n values.
void softmax(float* x, int64_t n);

}  // namespace smoe

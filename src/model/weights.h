// The engine's one canonical weight schema (GGUF naming): views into the mapped model file.
// Both loaders (GGUF now, Hugging Face later) map onto it; layout differences are resolved at
// load time. Each expert is its own ExpertWeights, addressable alone (a slice of a stacked
// tensor or its own tensor), so caching, offloading and placement work on whole experts.
#pragma once

#include "kernels/ggml_type.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace smoe {

// A row-major matrix of n_rows rows with n_cols values each, in a weight type; y = W x maps
// n_cols inputs to n_rows outputs. Points into the mapped file; never owns.
struct Matrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  size_t row_bytes = 0;

  size_t n_bytes() const { return row_bytes * static_cast<size_t>(n_rows); }
  const uint8_t* row(int64_t r) const { return data + row_bytes * static_cast<size_t>(r); }
  bool empty() const { return data == nullptr; }
};

// One SwiGLU expert: out = down(silu(gate x) * (up x)).
struct ExpertWeights {
  Matrix gate;  // W1 [hidden x dim]
  Matrix up;    // W3 [hidden x dim]
  Matrix down;  // W2 [dim x hidden]

  size_t n_bytes() const { return gate.n_bytes() + up.n_bytes() + down.n_bytes(); }
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [dim], RMSNorm scale before attention (dequantized copy)
  Matrix wq;                     // [n_head*head_dim x dim]
  Matrix wk;                     // [n_kv_head*head_dim x dim]
  Matrix wv;                     // [n_kv_head*head_dim x dim]
  Matrix wo;                     // [dim x n_head*head_dim]
  std::vector<float> ffn_norm;   // [dim], RMSNorm scale before the feed-forward block
  Matrix router;                 // [n_expert x dim]; empty for a dense model
  std::vector<ExpertWeights> experts;  // n_expert of them (one for a dense model)
};

struct ModelWeights {
  Matrix token_embd;               // [vocab x dim]: row t is token t's embedding
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // [dim]
  Matrix output;                   // [vocab x dim]; equals token_embd when tied
  bool tied_output = false;
};

}  // namespace smoe

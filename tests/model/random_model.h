// Small random-weight models of any Mixtral-family shape, written as F32 GGUF files with
// GgufWriter, and a float64 forward pass over them written as plainly as possible: the
// independent reference that checks the engine on shapes the golden files do not cover.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smoe::test {

struct RandomModelShape {
  int64_t dim = 32, hidden = 48, n_layer = 2, n_head = 4, n_kv_head = 2, head_dim = 0;  // 0: dim / n_head
  int64_t n_expert = 4, top_k = 2;  // n_expert 0: dense
  int64_t vocab = 64, context = 256, sliding_window = 0, rope_dim = 0;  // rope_dim 0: head_dim
  float rope_theta = 10000.0f, eps = 1e-5f;
  bool tied = false, per_expert_tensors = false;
  uint64_t seed = 1;
};

// Writes the model to `path` (a vocabulary of byte-like pieces is included so it loads fully).
void write_random_model(const RandomModelShape& shape, const std::string& path);

// Logits [tokens.size() x vocab] of the model file at `path`, computed in float64 from its F32
// weights (GGUF semantics: RoPE on adjacent pairs).
std::vector<double> reference_logits(const std::string& path, const std::vector<int32_t>& tokens);

}  // namespace smoe::test

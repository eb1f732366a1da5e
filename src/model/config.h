// The shape of a Mixtral-family model, independent of the file format it came from.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace smoe {

class GgufFile;

// How RoPE pairs the dimensions of a head. GGUF files (converted by llama.cpp) rotate adjacent
// pairs (x[2i], x[2i+1]); Hugging Face checkpoints rotate halves (x[i], x[i + rope_dim/2]).
enum class RopeStyle { AdjacentPairs, Halves };

struct ModelConfig {
  std::string architecture = "llama";
  std::string name;
  int64_t dim = 0;             // embedding width (Mixtral 8x7B: 4096)
  int64_t n_layer = 0;         // transformer blocks (32)
  int64_t hidden = 0;          // feed-forward width of each expert (14336)
  int64_t n_head = 0;          // query heads (32)
  int64_t n_kv_head = 0;       // key/value heads, grouped-query attention (8)
  int64_t head_dim = 0;        // per head (128)
  int64_t rope_dim = 0;        // leading dims of each head that RoPE rotates (= head_dim)
  int64_t n_expert = 0;        // experts per layer; 0 for a dense model (8)
  int64_t n_expert_used = 0;   // top-k experts per token (2); 0 for a dense model
  int64_t vocab = 0;           // (32000)
  int64_t context_length = 0;  // longest context the model supports (32768)
  int64_t sliding_window = 0;  // 0 = attend to the whole context
  float rope_theta = 10000.0f; // (1e6)
  float norm_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::AdjacentPairs;

  bool is_moe() const { return n_expert > 0; }
  // Experts the forward pass iterates over: a dense model is the one-expert case.
  int64_t experts_per_layer() const { return n_expert > 0 ? n_expert : 1; }
  int64_t experts_per_token() const { return n_expert > 0 ? n_expert_used : 1; }
  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_kv_head * head_dim; }

  // Checks internal consistency (head counts divide, top-k within 1..n_expert, ...);
  // throws smoe::Error naming the first problem.
  void validate() const;
};

// Reads `general.architecture` and the `<arch>.*` shape keys of a GGUF file.
ModelConfig config_from_gguf(const GgufFile& gguf);

// Reads a Hugging Face config.json; `source` names it in errors.
ModelConfig config_from_hf(const nlohmann::json& config, const std::string& source);

}  // namespace smoe

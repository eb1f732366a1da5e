// Maps a file's tensors onto the canonical weight schema (model/weights.h), checking every shape
// against the config. The file's naming scheme (GGUF or Hugging Face) is a parameter, so both
// formats share one mapping and one set of checks.
#pragma once

#include "model/config.h"
#include "model/tensor_table.h"
#include "model/weights.h"

#include <string>

namespace smoe {

// Names of the canonical tensors in one file format.
struct TensorNaming {
  // Whole-model tensors.
  std::string token_embd, output, output_norm;
  // Per-layer tensors; `part` is one of attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
  // ffn_gate_inp (router), ffn_gate, ffn_up, ffn_down (dense feed-forward).
  virtual std::string layer(int64_t il, std::string_view part) const = 0;
  // One expert's own tensor; `part` is ffn_gate (W1), ffn_up (W3) or ffn_down (W2).
  virtual std::string expert(int64_t il, int64_t e, std::string_view part) const = 0;
  // All experts of a layer stacked in one tensor [cols, rows, n_expert]; "" if the format has none.
  virtual std::string stacked_experts(int64_t il, std::string_view part) const = 0;
  virtual ~TensorNaming() = default;
};

const TensorNaming& gguf_naming();
const TensorNaming& hf_naming();

// `source` names the file in error messages. `tied` forces output = token_embd (HF
// tie_word_embeddings); otherwise a missing output tensor also means tied.
ModelWeights map_weights(const TensorTable& tensors, const TensorNaming& naming, const ModelConfig& config,
                         const std::string& source, bool tied = false);

}  // namespace smoe

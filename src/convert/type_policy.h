// Which ggml type each tensor of a converted model gets: the `--type` names (file types, in
// llama.cpp's llama_ftype numbering) and the per-tensor choice, which follows llama.cpp's
// llama_tensor_get_type (src/llama-quant.cpp) so a converted file mixes types as
// `llama-quantize` would.
//
// Per tensor, for a quantized --type T (base type B; n_expert = experts per layer):
//   1-D tensors (norms), the router ffn_gate_inp ........ F32, always (any --type)
//   output (token_embd when there is no output) ......... Q8_0 if its rows are not whole blocks of
//                                                          B, else Q8_0 for T = Q8_0, else Q6_K
//   attn_k, attn_v with n_expert == 8 ................... Q8_0 (llama.cpp's Mixtral rule)
//   attn_v otherwise: Q2_K -> Q4_K if n_head/n_kv >= 4 else Q3_K; Q3_K_M -> Q5_K on layers 0-1,
//     Q4_K after; Q3_K_L -> Q5_K; Q4_K_S -> Q5_K on layers 0-3; Q4_K_M, Q5_K_M -> Q6_K on the
//     "more bits" layers (the first and last eighth and every third layer between)
//   attn_output with n_expert == 8: Q5_K for Q2_K, Q3_K_S, Q3_K_M, Q4_K_S, Q4_K_M;
//     otherwise Q2_K -> Q3_K, Q3_K_M -> Q4_K, Q3_K_L -> Q5_K
//   ffn_down (dense or experts): Q2_K -> Q3_K; Q3_K_M -> Q5_K below n_layer/16, else Q4_K;
//     Q3_K_L -> Q5_K; Q4_K_S -> Q5_K below n_layer/8; Q4_K_M, Q5_K_M -> Q6_K on "more bits" layers
//   everything else (token_embd, attn_q, ffn_gate, ffn_up) .. B
// then, when a row is not a whole number of blocks of the chosen type, llama.cpp's fallback:
// Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K / Q3_K -> Q4_0 (llama.cpp: IQ4_NL, which smoe
// cannot compute; same size), and F16 when even that does not fit (llama.cpp: F16 for the
// K-type chain, an error for the 32-blocks types).
// For T = F32, F16, BF16 every tensor of two or more dimensions gets T, except the router.
// Not reproduced: llama.cpp's importance-matrix rules, its 70B-only attn_v bump, Falcon rules.
#pragma once

#include "kernels/ggml_type.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

// llama.cpp's llama_ftype numbers (general.file_type).
enum class FileType : uint32_t {
  ALL_F32 = 0,
  MOSTLY_F16 = 1,
  MOSTLY_Q4_0 = 2,
  MOSTLY_Q4_1 = 3,
  MOSTLY_Q8_0 = 7,
  MOSTLY_Q5_0 = 8,
  MOSTLY_Q5_1 = 9,
  MOSTLY_Q2_K = 10,
  MOSTLY_Q3_K_S = 11,
  MOSTLY_Q3_K_M = 12,
  MOSTLY_Q3_K_L = 13,
  MOSTLY_Q4_K_S = 14,
  MOSTLY_Q4_K_M = 15,
  MOSTLY_Q5_K_S = 16,
  MOSTLY_Q5_K_M = 17,
  MOSTLY_Q6_K = 18,
  MOSTLY_BF16 = 32,
};

// One --type: its name, file type and base (most common) tensor type.
struct QuantMix {
  std::string_view name;  // "Q4_K_M"
  FileType file_type;
  GgmlType base;
  bool quantized() const { return base != GgmlType::F32 && base != GgmlType::F16 && base != GgmlType::BF16; }
};

// Parses a --type name, case-insensitive. Plain K names are the small mixes (Q3_K = Q3_K_S,
// Q4_K = Q4_K_S, Q5_K = Q5_K_S: the named type nearly everywhere); llama-quantize instead
// treats Q3_K/Q4_K/Q5_K as aliases of the _M mixes.
std::optional<QuantMix> parse_quant_mix(std::string_view name);
// The names parse_quant_mix accepts, for help and error messages.
std::vector<std::string_view> quant_mix_names();

// What the policy needs to know about one output tensor.
enum class TensorRole {
  TokenEmbd, Output, Norm, AttnQ, AttnK, AttnV, AttnOutput, Router, FfnGate, FfnUp, FfnDown, Other
};

struct TensorFacts {
  TensorRole role = TensorRole::Other;
  int64_t layer = -1;     // block index for per-layer tensors
  int n_dims = 2;
  int64_t row_length = 0;  // ne[0]
};

struct ModelFacts {
  int64_t n_layer = 0;
  int64_t n_expert = 0;     // 0 for a dense model
  int64_t n_gqa = 1;        // n_head / n_kv_head
  bool has_output = true;   // false: output is tied to token_embd (which then follows output's rule)
};

GgmlType choose_tensor_type(const QuantMix& mix, const TensorFacts& tensor, const ModelFacts& model);

}  // namespace smoe

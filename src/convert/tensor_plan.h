// The tensors of a converted file and where their rows come from: canonical GGUF names, experts
// stacked into one [cols, rows, n_expert] tensor per layer and projection, and the RoPE row
// permutation that turns a Hugging Face q_proj / k_proj (rotating halves) into llama.cpp's
// layout (rotating adjacent pairs).
#pragma once

#include "convert/type_policy.h"
#include "model/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace smoe {

struct PlannedTensor {
  std::string name;         // GGUF name
  TensorFacts facts;        // for the type policy
  std::vector<int64_t> ne;  // output shape, innermost first
  // Sources stacked along the outer dimensions, in order (one per expert for HF experts, else
  // one). Each holds rows of ne[0] values.
  std::vector<const TensorRef*> sources;
  // > 0: rows are reordered within each of this many heads so that the source's pairs
  // (i, i + head_dim/2) become (2i, 2i + 1). 0: rows kept in order.
  int64_t rope_heads = 0;
  bool copy_verbatim = false;  // a tensor outside the canonical schema, copied as it is
  GgmlType type = GgmlType::F32;  // chosen output type

  int64_t n_rows() const;     // product of ne[1..]
  size_t n_bytes() const;     // in `type`
  uint64_t source_bytes() const;
};

// The output tensors of `model` in llama.cpp's order (token_embd, blocks, output_norm, output),
// types not yet chosen. A GGUF source keeps its rows; tensors of a GGUF source outside the
// schema (rope_freqs, ...) are copied as they are, after the others.
std::vector<PlannedTensor> plan_tensors(const Model& model);

// The row of the source (within one source tensor) that output row `row` takes, for a tensor
// whose `rows_per_source` rows form `rope_heads` heads (0: identity).
int64_t source_row(int64_t row, int64_t rows_per_source, int64_t rope_heads);

}  // namespace smoe

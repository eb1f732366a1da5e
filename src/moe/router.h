// The Mixtral router: from a token's n_expert router logits, pick the top-k experts and weight
// them by a softmax over just those k logits (equal to a softmax over all, renormalized).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace smoe {

struct ExpertChoice {
  int32_t expert = 0;
  float weight = 0;
};

// Writes k choices, highest logit first; equal logits go to the lower expert index.
// Requires 1 <= k <= n_expert.
void route_top_k(const float* logits, int64_t n_expert, int64_t k, ExpertChoice* out);

// The tokens of a batch grouped by expert, so each expert's weights are read once per batch:
// expert e serves tokens token[offset[e] .. offset[e+1]) with weights weight[...].
struct ExpertGroups {
  std::vector<int64_t> offset;  // [n_expert + 1]
  std::vector<int32_t> token;   // batch row of each assignment
  std::vector<float> weight;    // router weight of each assignment

  int64_t count(int64_t e) const { return offset[e + 1] - offset[e]; }
};

// choices: n_tokens * k entries, token-major. Within a group, tokens keep batch order.
ExpertGroups group_by_expert(std::span<const ExpertChoice> choices, int64_t n_tokens, int64_t k,
                             int64_t n_expert);

}  // namespace smoe

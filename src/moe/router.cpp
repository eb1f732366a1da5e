// Top-k routing and grouping of a batch's tokens by expert.
#include "moe/router.h"

#include <cmath>

namespace smoe {

void route_top_k(const float* logits, int64_t n_expert, int64_t k, ExpertChoice* out) {
  // Selection by repeated scans: n_expert is small (8) and k smaller (2).
  for (int64_t j = 0; j < k; ++j) {
    int32_t best = -1;
    for (int32_t e = 0; e < n_expert; ++e) {
      bool taken = false;
      for (int64_t i = 0; i < j; ++i) taken = taken || out[i].expert == e;
      // NaN logits never win over a number, so a corrupt router cannot pick garbage silently.
      if (!taken && (best < 0 || logits[e] > logits[best] || (std::isnan(logits[best]) && !std::isnan(logits[e]))))
        best = e;
    }
    out[j].expert = best;
  }
  const float max = logits[out[0].expert];
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(logits[out[j].expert]) - max);
  for (int64_t j = 0; j < k; ++j)
    out[j].weight = static_cast<float>(std::exp(static_cast<double>(logits[out[j].expert]) - max) / sum);
}

ExpertGroups group_by_expert(std::span<const ExpertChoice> choices, int64_t n_tokens, int64_t k,
                             int64_t n_expert) {
  ExpertGroups g;
  g.offset.assign(n_expert + 1, 0);
  for (int64_t i = 0; i < n_tokens * k; ++i) g.offset[choices[i].expert + 1]++;
  for (int64_t e = 0; e < n_expert; ++e) g.offset[e + 1] += g.offset[e];
  g.token.resize(n_tokens * k);
  g.weight.resize(n_tokens * k);
  std::vector<int64_t> fill(g.offset.begin(), g.offset.end() - 1);
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t j = 0; j < k; ++j) {
      const ExpertChoice& c = choices[t * k + j];
      g.token[fill[c.expert]] = static_cast<int32_t>(t);
      g.weight[fill[c.expert]++] = c.weight;
    }
  }
  return g;
}

}  // namespace smoe

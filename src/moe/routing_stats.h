// Routing analysis in the manner of the Mixtral paper: per layer, how evenly the experts are
// loaded, and how often consecutive tokens are routed alike (temporal locality), next to what
// uniformly random routing would give.
#pragma once

#include "moe/router.h"

#include <cstdint>
#include <span>
#include <vector>

namespace smoe {

// The experts chosen for every token of a text at every layer.
class RoutingTrace {
 public:
  RoutingTrace(int64_t n_layer, int64_t n_expert, int64_t k);
  // Records token `position` of the current segment at one layer (choices: k entries).
  void record(int64_t layer, int64_t position, std::span<const ExpertChoice> choices);
  // Starts a new segment (a new window of text): consecutive-token statistics do not cross it.
  void begin_segment();

  int64_t n_layer() const { return n_layer_; }
  int64_t n_expert() const { return n_expert_; }
  int64_t k() const { return k_; }
  int64_t n_tokens() const { return static_cast<int64_t>(segment_of_.size()); }
  // Expert of choice j (0 = highest weight) for token t at a layer.
  int32_t expert(int64_t layer, int64_t t, int64_t j) const { return experts_[layer][t * k_ + j]; }
  bool same_segment(int64_t t0, int64_t t1) const { return segment_of_[t0] == segment_of_[t1]; }

 private:
  int64_t n_layer_, n_expert_, k_;
  int64_t segment_ = 0;
  int64_t segment_base_ = 0;  // index of the segment's first token
  std::vector<std::vector<int32_t>> experts_;  // [layer][token * k + j]
  std::vector<int64_t> segment_of_;            // [token]
};

struct LayerRoutingStats {
  std::vector<int64_t> load;          // [n_expert]: tokens for which the expert was among the k
  std::vector<int64_t> first_choice;  // [n_expert]: tokens for which it was the first choice
  int64_t consecutive_pairs = 0;
  double same_first_share = 0;   // pairs whose first choices are equal
  double any_shared_share = 0;   // pairs whose k-sets intersect
};

std::vector<LayerRoutingStats> analyze_routing(const RoutingTrace& trace);

// Shares uniform random routing gives (top-k of n without replacement): the same first choice
// 1/n, and at least one shared expert 1 - C(n-k, k) / C(n, k).
double random_same_first_share(int64_t n_expert);
double random_any_shared_share(int64_t n_expert, int64_t k);

}  // namespace smoe

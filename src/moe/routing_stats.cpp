// Routing trace bookkeeping and locality statistics.
#include "moe/routing_stats.h"

#include <algorithm>

namespace smoe {

RoutingTrace::RoutingTrace(int64_t n_layer, int64_t n_expert, int64_t k)
    : n_layer_(n_layer), n_expert_(n_expert), k_(k), experts_(n_layer) {}

void RoutingTrace::begin_segment() {
  ++segment_;
  segment_base_ = n_tokens();
}

void RoutingTrace::record(int64_t layer, int64_t position, std::span<const ExpertChoice> choices) {
  const int64_t t = segment_base_ + position;
  if (t >= n_tokens()) segment_of_.resize(t + 1, segment_);
  auto& row = experts_[layer];
  if (static_cast<int64_t>(row.size()) < (t + 1) * k_) row.resize((t + 1) * k_, -1);
  for (int64_t j = 0; j < k_; ++j) row[t * k_ + j] = choices[j].expert;
}

std::vector<LayerRoutingStats> analyze_routing(const RoutingTrace& trace) {
  std::vector<LayerRoutingStats> out(trace.n_layer());
  const int64_t k = trace.k();
  for (int64_t l = 0; l < trace.n_layer(); ++l) {
    LayerRoutingStats& s = out[l];
    s.load.assign(trace.n_expert(), 0);
    s.first_choice.assign(trace.n_expert(), 0);
    int64_t same_first = 0, any_shared = 0;
    for (int64_t t = 0; t < trace.n_tokens(); ++t) {
      for (int64_t j = 0; j < k; ++j) s.load[trace.expert(l, t, j)]++;
      s.first_choice[trace.expert(l, t, 0)]++;
      if (t == 0 || !trace.same_segment(t - 1, t)) continue;
      ++s.consecutive_pairs;
      same_first += trace.expert(l, t, 0) == trace.expert(l, t - 1, 0);
      bool shared = false;
      for (int64_t a = 0; a < k && !shared; ++a)
        for (int64_t b = 0; b < k && !shared; ++b) shared = trace.expert(l, t, a) == trace.expert(l, t - 1, b);
      any_shared += shared;
    }
    if (s.consecutive_pairs > 0) {
      s.same_first_share = static_cast<double>(same_first) / s.consecutive_pairs;
      s.any_shared_share = static_cast<double>(any_shared) / s.consecutive_pairs;
    }
  }
  return out;
}

double random_same_first_share(int64_t n_expert) { return 1.0 / static_cast<double>(n_expert); }

double random_any_shared_share(int64_t n_expert, int64_t k) {
  auto choose = [](int64_t n, int64_t r) {
    if (r < 0 || r > n) return 0.0;
    double c = 1;
    for (int64_t i = 1; i <= r; ++i) c = c * static_cast<double>(n - r + i) / static_cast<double>(i);
    return c;
  };
  return 1.0 - choose(n_expert - k, k) / choose(n_expert, k);
}

}  // namespace smoe

// Eviction choices of the expert cache (see residency_policy.h).
#include "cache/residency_policy.h"

#include "core/error.h"

#include <cmath>

namespace smoe {

EvictionPolicy parse_eviction_policy(const std::string& name) {
  if (name == "lru") return EvictionPolicy::Lru;
  if (name == "lfu" || name == "frequency") return EvictionPolicy::Frequency;
  fail("unknown expert cache policy '{}' (expected lru or lfu)", name);
}

const char* eviction_policy_name(EvictionPolicy policy) { return policy == EvictionPolicy::Lru ? "lru" : "lfu"; }

ResidencyPolicy::ResidencyPolicy(EvictionPolicy policy, int64_t n_layer, int64_t n_expert, int64_t n_slots,
                                 double half_life)
    : policy_(policy),
      n_layer_(n_layer),
      n_expert_(n_expert),
      half_life_(half_life),
      quota_(n_layer),
      resident_count_(n_layer, 0),
      passes_(n_layer, 0),
      state_(n_layer * n_expert) {
  for (int64_t l = 0; l < n_layer; ++l) quota_[l] = n_slots / n_layer + (l < n_slots % n_layer ? 1 : 0);
}

void ResidencyPolicy::begin_pass(int64_t layer) { passes_[layer]++; }

double ResidencyPolicy::frequency(int64_t layer, int32_t expert) const {
  const ExpertState& s = state(layer, expert);
  return s.frequency * std::exp2(-static_cast<double>(passes_[layer] - s.frequency_pass) / half_life_);
}

void ResidencyPolicy::touch(int64_t layer, int32_t expert) {
  ExpertState& s = state(layer, expert);
  s.frequency = frequency(layer, expert) + 1;
  s.frequency_pass = passes_[layer];
  s.last_use = ++tick_;
}

void ResidencyPolicy::inserted(int64_t layer, int32_t expert) {
  ExpertState& s = state(layer, expert);
  if (!s.resident) resident_count_[layer]++;
  s.resident = true;
  s.last_use = ++tick_;  // a fresh load is not evicted before it had a chance to be used
}

void ResidencyPolicy::evicted(int64_t layer, int32_t expert) {
  ExpertState& s = state(layer, expert);
  if (s.resident) resident_count_[layer]--;
  s.resident = false;
}

bool ResidencyPolicy::worse(int64_t la, int32_t ea, int64_t lb, int32_t eb) const {
  if (policy_ == EvictionPolicy::Frequency) {
    const double fa = frequency(la, ea), fb = frequency(lb, eb);
    // Frequencies closer than a tenth of a use count as equal, so recency decides among them.
    if (std::abs(fa - fb) > 0.1) return fa < fb;
  }
  return state(la, ea).last_use < state(lb, eb).last_use;
}

ResidencyPolicy::Key ResidencyPolicy::worst(int64_t first_layer, int64_t end_layer, bool over_quota_only,
                                            const std::function<bool(int64_t, int32_t)>& evictable) const {
  Key best;
  for (int64_t l = first_layer; l < end_layer; ++l) {
    if (over_quota_only && resident_count_[l] <= quota_[l]) continue;
    for (int32_t e = 0; e < n_expert_; ++e) {
      if (!state(l, e).resident || !evictable(l, e)) continue;
      if (!best.valid() || worse(l, e, best.layer, best.expert)) best = {l, e};
    }
  }
  return best;
}

ResidencyPolicy::Key ResidencyPolicy::victim(int64_t layer,
                                             const std::function<bool(int64_t, int32_t)>& evictable) const {
  // Under its quota, a layer takes back a slot from a layer above its own quota.
  if (resident_count_[layer] < quota_[layer])
    if (Key k = worst(0, n_layer_, true, evictable); k.valid()) return k;
  // Otherwise it replaces one of its own experts; as a last resort any evictable one.
  if (Key k = worst(layer, layer + 1, false, evictable); k.valid()) return k;
  if (Key k = worst(0, n_layer_, true, evictable); k.valid()) return k;
  return worst(0, n_layer_, false, evictable);
}

}  // namespace smoe

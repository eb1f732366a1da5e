// Which cached expert to evict: the bookkeeping of the expert cache's replacement policy, apart
// from slots, memory and threads so it can be tested alone.
//
// Budget split: the forward pass visits the layers in a cycle, so one global LRU list would
// evict each layer's experts just before the next token needs them again whenever the cache
// holds less than a token's working set. Each layer therefore has a quota of slots (the budget
// divided evenly, the remainder to the first layers); a layer may borrow slots others leave
// unused, and loses them first when another layer under its quota needs room.
//
// Within the candidates the policy picks:
//   Lru:       the least recently used (or loaded) expert;
//   Frequency: the fewest uses with exponential decay (half-life in passes through the layer),
//              ties to the least recently used. Frequencies are kept for every expert, resident
//              or not, so an expert that is popular over time wins back its place quickly.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace smoe {

enum class EvictionPolicy { Lru, Frequency };

// "lru" or "lfu" (frequency); throws smoe::Error otherwise.
EvictionPolicy parse_eviction_policy(const std::string& name);
const char* eviction_policy_name(EvictionPolicy policy);

class ResidencyPolicy {
 public:
  ResidencyPolicy(EvictionPolicy policy, int64_t n_layer, int64_t n_expert, int64_t n_slots,
                  double half_life = 16);

  // A forward pass has reached `layer` (advances that layer's clock).
  void begin_pass(int64_t layer);
  // (layer, expert) is used by the current pass.
  void touch(int64_t layer, int32_t expert);
  void inserted(int64_t layer, int32_t expert);
  void evicted(int64_t layer, int32_t expert);

  struct Key {
    int64_t layer = -1;
    int32_t expert = -1;
    bool valid() const { return layer >= 0; }
  };
  // The resident expert to evict to make room for one of `layer`, among those `evictable` accepts;
  // an invalid Key when it accepts none.
  Key victim(int64_t layer, const std::function<bool(int64_t, int32_t)>& evictable) const;

  int64_t quota(int64_t layer) const { return quota_[layer]; }
  int64_t resident(int64_t layer) const { return resident_count_[layer]; }
  bool is_resident(int64_t layer, int32_t expert) const { return state(layer, expert).resident; }
  // The decayed use count of (layer, expert) now (for tests and reports).
  double frequency(int64_t layer, int32_t expert) const;

 private:
  struct ExpertState {
    bool resident = false;
    uint64_t last_use = 0;  // global tick of the last use or load
    double frequency = 0;   // decayed uses, as of pass `frequency_pass` of its layer
    int64_t frequency_pass = 0;
  };
  EvictionPolicy policy_;
  int64_t n_layer_, n_expert_;
  double half_life_;
  uint64_t tick_ = 0;
  std::vector<int64_t> quota_, resident_count_, passes_;
  std::vector<ExpertState> state_;  // [layer * n_expert + expert]

  ExpertState& state(int64_t layer, int32_t expert) { return state_[layer * n_expert_ + expert]; }
  const ExpertState& state(int64_t layer, int32_t expert) const { return state_[layer * n_expert_ + expert]; }
  // True when a is a better victim than b.
  bool worse(int64_t la, int32_t ea, int64_t lb, int32_t eb) const;
  Key worst(int64_t first_layer, int64_t end_layer, bool over_quota_only,
            const std::function<bool(int64_t, int32_t)>& evictable) const;
};

}  // namespace smoe

// The --expert-cache budget: bytes with a unit ("6G", "512M", "1.5G", "4096K"; binary units) or a
// plain count of expert slots ("12"), turned into a number of slots once the slot size is known.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smoe {

struct ExpertCacheBudget {
  uint64_t bytes = 0;  // a memory budget, or
  int64_t slots = 0;   // a slot count (exactly one of the two is set)

  std::string describe() const;  // "6 GiB", "12 slots"
};

// Throws smoe::Error for anything else than a positive size or count.
ExpertCacheBudget parse_expert_cache_budget(std::string_view text);

// Slots of slot_bytes each that fit the budget, at most total_experts (more would stay empty).
// Throws smoe::Error when the budget is smaller than one expert.
int64_t slots_for_budget(const ExpertCacheBudget& budget, uint64_t slot_bytes, int64_t total_experts);

}  // namespace smoe

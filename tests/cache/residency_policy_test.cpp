// The expert cache's eviction choices: LRU order, the frequency-aware variant, per-layer quotas.
#include "cache/residency_policy.h"
#include "core/error.h"

#include <gtest/gtest.h>

namespace smoe {
namespace {

const auto kAny = [](int64_t, int32_t) { return true; };

// Loads (layer, expert) as the cache does on a miss: a use, then residency.
void use(ResidencyPolicy& p, int64_t layer, int32_t e) {
  p.touch(layer, e);
  if (!p.is_resident(layer, e)) p.inserted(layer, e);
}

TEST(ResidencyPolicy, LruEvictsTheLeastRecentlyUsed) {
  ResidencyPolicy p(EvictionPolicy::Lru, 1, 8, 3);
  use(p, 0, 0);
  use(p, 0, 1);
  use(p, 0, 2);
  EXPECT_EQ(p.victim(0, kAny).expert, 0);
  use(p, 0, 0);  // 0 is now the most recent
  EXPECT_EQ(p.victim(0, kAny).expert, 1);
  use(p, 0, 1);
  EXPECT_EQ(p.victim(0, kAny).expert, 2);
  p.evicted(0, 2);
  EXPECT_FALSE(p.is_resident(0, 2));
  EXPECT_EQ(p.victim(0, kAny).expert, 0);
}

TEST(ResidencyPolicy, VictimsAreOnlyWhatTheCacheMayEvict) {
  ResidencyPolicy p(EvictionPolicy::Lru, 1, 4, 2);
  use(p, 0, 0);
  use(p, 0, 1);
  EXPECT_EQ(p.victim(0, [](int64_t, int32_t e) { return e != 0; }).expert, 1);  // 0 pinned
  EXPECT_FALSE(p.victim(0, [](int64_t, int32_t) { return false; }).valid());
}

TEST(ResidencyPolicy, FreshLoadsAreNotTheFirstVictims) {
  ResidencyPolicy p(EvictionPolicy::Lru, 1, 4, 2);
  use(p, 0, 0);
  use(p, 0, 1);
  p.inserted(0, 2);  // a prefetch: loaded, not used yet
  EXPECT_EQ(p.victim(0, kAny).expert, 0);
}

TEST(ResidencyPolicy, FrequencyKeepsTheOftenUsedWhereLruWouldNot) {
  for (EvictionPolicy kind : {EvictionPolicy::Lru, EvictionPolicy::Frequency}) {
    ResidencyPolicy p(kind, 1, 8, 2);
    for (int pass = 0; pass < 5; ++pass) {
      p.begin_pass(0);
      use(p, 0, 3);
    }
    p.begin_pass(0);
    use(p, 0, 5);  // used once, but last
    EXPECT_EQ(p.victim(0, kAny).expert, kind == EvictionPolicy::Lru ? 3 : 5) << eviction_policy_name(kind);
  }
}

TEST(ResidencyPolicy, FrequenciesDecayWithTheLayersPasses) {
  ResidencyPolicy p(EvictionPolicy::Frequency, 1, 8, 2, /*half_life=*/1);
  for (int pass = 0; pass < 4; ++pass) {
    p.begin_pass(0);
    use(p, 0, 3);
  }
  const double before = p.frequency(0, 3);
  EXPECT_GT(before, 1.5);
  for (int pass = 0; pass < 10; ++pass) {
    p.begin_pass(0);
    use(p, 0, 6);
  }
  EXPECT_NEAR(p.frequency(0, 3), before / 1024, 1e-9);
  use(p, 0, 1);
  p.inserted(0, 3);  // keep 3 resident to compare it with 6: long unused, it goes first
  EXPECT_EQ(p.victim(0, [](int64_t, int32_t e) { return e != 1; }).expert, 3);
}

TEST(ResidencyPolicy, LayersShareTheBudgetByQuota) {
  ResidencyPolicy p(EvictionPolicy::Lru, 3, 8, 7);
  EXPECT_EQ(p.quota(0), 3);
  EXPECT_EQ(p.quota(1), 2);
  EXPECT_EQ(p.quota(2), 2);
}

TEST(ResidencyPolicy, ALayerUnderQuotaTakesBackBorrowedSlots) {
  ResidencyPolicy p(EvictionPolicy::Lru, 2, 8, 2);  // one slot each
  use(p, 1, 4);  // layer 1's own slot, used long ago
  use(p, 0, 0);
  use(p, 0, 1);  // layer 0 borrowed a slot while layer 1 was idle (2 > quota 1)
  // Layer 1 at its quota replaces its own expert, even though it is older than layer 0's.
  EXPECT_EQ(p.victim(1, kAny).layer, 1);
  p.evicted(1, 4);
  // Now under its quota, layer 1 takes the borrowed slot back (layer 0's LRU), not layer 0's quota.
  const ResidencyPolicy::Key k = p.victim(1, kAny);
  EXPECT_EQ(k.layer, 0);
  EXPECT_EQ(k.expert, 0);
}

TEST(ResidencyPolicy, FewerSlotsThanLayersStillFindsAVictim) {
  ResidencyPolicy p(EvictionPolicy::Lru, 4, 8, 1);
  EXPECT_EQ(p.quota(3), 0);
  use(p, 0, 2);
  const ResidencyPolicy::Key k = p.victim(3, kAny);
  EXPECT_EQ(k.layer, 0);
  EXPECT_EQ(k.expert, 2);
}

TEST(ResidencyPolicy, PolicyNames) {
  EXPECT_EQ(parse_eviction_policy("lru"), EvictionPolicy::Lru);
  EXPECT_EQ(parse_eviction_policy("lfu"), EvictionPolicy::Frequency);
  EXPECT_THROW(parse_eviction_policy("mru"), Error);
}

}  // namespace
}  // namespace smoe

// Routing statistics: load and locality shares on a hand-made trace, segments, and the random
// expectations (1/8 and 46.4% for top-2 of 8), which a simulated random router reproduces.
#include "moe/routing_stats.h"

#include <gtest/gtest.h>

#include <random>

namespace smoe {
namespace {

void put(RoutingTrace& t, int64_t layer, int64_t pos, int32_t a, int32_t b) {
  const ExpertChoice c[2] = {{a, 0.6f}, {b, 0.4f}};
  t.record(layer, pos, c);
}

TEST(RoutingStats, CountsLoadAndLocalityOnAKnownTrace) {
  RoutingTrace t(1, 4, 2);
  t.begin_segment();
  put(t, 0, 0, 0, 1);
  put(t, 0, 1, 0, 2);  // same first, shares 0
  put(t, 0, 2, 3, 2);  // different first, shares 2
  put(t, 0, 3, 1, 0);  // different first, shares nothing with {3, 2}
  t.begin_segment();   // the pair across the boundary is not counted
  put(t, 0, 0, 1, 3);
  put(t, 0, 1, 1, 0);  // same first
  const auto s = analyze_routing(t);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(t.n_tokens(), 6);
  EXPECT_EQ(s[0].consecutive_pairs, 4);
  EXPECT_DOUBLE_EQ(s[0].same_first_share, 2.0 / 4);
  EXPECT_DOUBLE_EQ(s[0].any_shared_share, 3.0 / 4);
  EXPECT_EQ(s[0].load, (std::vector<int64_t>{4, 4, 2, 2}));
  EXPECT_EQ(s[0].first_choice, (std::vector<int64_t>{2, 3, 0, 1}));
}

TEST(RoutingStats, RandomExpectationsMatchASimulatedRandomRouter) {
  EXPECT_DOUBLE_EQ(random_same_first_share(8), 0.125);
  EXPECT_NEAR(random_any_shared_share(8, 2), 13.0 / 28.0, 1e-12);  // 46.4%
  EXPECT_DOUBLE_EQ(random_any_shared_share(8, 1), 0.125);
  EXPECT_DOUBLE_EQ(random_any_shared_share(4, 3), 1.0);  // 3 + 3 > 4: always overlap
  std::mt19937 rng(3);
  RoutingTrace t(1, 8, 2);
  t.begin_segment();
  for (int64_t i = 0; i < 40000; ++i) {
    const int32_t a = static_cast<int32_t>(rng() % 8);
    int32_t b = static_cast<int32_t>(rng() % 7);
    if (b >= a) ++b;
    put(t, 0, i, a, b);
  }
  const auto s = analyze_routing(t);
  EXPECT_NEAR(s[0].same_first_share, 0.125, 0.01);
  EXPECT_NEAR(s[0].any_shared_share, 13.0 / 28.0, 0.01);
}

}  // namespace
}  // namespace smoe

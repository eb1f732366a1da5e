// Sampling: greedy is argmax, filters keep what they promise, the seed reproduces draws, the
// draws follow the distribution, the repetition penalty acts only on recent tokens.
#include "core/error.h"
#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

namespace smoe {
namespace {

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

TEST(Sampler, GreedyPicksTheArgmaxLowestIndexOnTies) {
  Sampler s(greedy());
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f}, {}), 1);
  EXPECT_EQ(argmax(std::vector<float>{NAN, 1.0f, 2.0f}), 2);
}

TEST(Sampler, SameSeedSameDrawsDifferentSeedDifferentDraws) {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = std::sin(i * 0.37f);
  SamplerParams p;
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  p.seed = 42;
  std::vector<int32_t> a, b, c;
  Sampler sa(p), sb(p);
  p.seed = 43;
  Sampler sc(p);
  for (int i = 0; i < 50; ++i) {
    a.push_back(sa.sample(logits, {}));
    b.push_back(sb.sample(logits, {}));
    c.push_back(sc.sample(logits, {}));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Sampler, DrawsFollowTheSoftmaxAtTheTemperature) {
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f)};  // p = 1/8, 2/8, 5/8
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  p.seed = 7;
  Sampler s(p);
  std::map<int32_t, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) counts[s.sample(logits, {})]++;
  EXPECT_NEAR(counts[0] / double(n), 1 / 8.0, 0.01);
  EXPECT_NEAR(counts[1] / double(n), 2 / 8.0, 0.01);
  EXPECT_NEAR(counts[2] / double(n), 5 / 8.0, 0.01);
}

std::set<int32_t> support(SamplerParams p, const std::vector<float>& logits) {
  Sampler s(p);
  std::set<int32_t> seen;
  for (int i = 0; i < 3000; ++i) seen.insert(s.sample(logits, {}));
  return seen;
}

TEST(Sampler, TopKTopPAndMinPLimitTheCandidates) {
  // p proportional to 8, 4, 2, 1, 1 (sum 16)
  const std::vector<float> logits = {std::log(8.f), std::log(4.f), std::log(2.f), 0.f, 0.f};
  SamplerParams p;
  p.temperature = 1;
  p.top_k = 0;
  p.top_p = 1;
  p.min_p = 0;
  EXPECT_EQ(support(p, logits).size(), 5u);
  SamplerParams k = p;
  k.top_k = 2;
  EXPECT_EQ(support(k, logits), (std::set<int32_t>{0, 1}));
  SamplerParams tp = p;
  tp.top_p = 0.7f;  // 8/16 alone is below 0.7, 8/16 + 4/16 reaches it
  EXPECT_EQ(support(tp, logits), (std::set<int32_t>{0, 1}));
  SamplerParams mp = p;
  mp.min_p = 0.2f;  // keep p >= 0.2 * 0.5: 8, 4 and 2 of 16, not the 1s
  EXPECT_EQ(support(mp, logits), (std::set<int32_t>{0, 1, 2}));
}

TEST(Sampler, RepetitionPenaltyActsOnRecentTokensOnly) {
  SamplerParams p = greedy();
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 2;
  Sampler s(p);
  const std::vector<float> logits = {1.0f, 1.5f, 1.2f};
  EXPECT_EQ(s.sample(logits, std::vector<int32_t>{1}), 2);        // 1.5 -> 0.75
  EXPECT_EQ(s.sample(logits, std::vector<int32_t>{1, 0, 2}), 1);  // token 1 is outside the last 2
  const std::vector<float> negative = {-1.0f, -0.9f};
  EXPECT_EQ(s.sample(negative, std::vector<int32_t>{1}), 0);     // -0.9 -> -1.8
}

TEST(Sampler, RejectsOutOfRangeSettings) {
  SamplerParams p;
  p.temperature = -1;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.top_p = 0;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.min_p = 1.5f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.repeat_penalty = 0;
  EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace
}  // namespace smoe

// Router semantics: top-k by logit, softmax over the chosen k, ties to the lower index, and
// grouping of a batch by expert.
#include "moe/router.h"

#include <gtest/gtest.h>

#include <cmath>

namespace smoe {
namespace {

TEST(Router, TopTwoOfEightWithSoftmaxOverTheChosen) {
  const float logits[8] = {0.1f, 2.0f, -1.0f, 3.0f, 0.5f, 1.0f, -3.0f, 2.5f};
  ExpertChoice c[2];
  route_top_k(logits, 8, 2, c);
  EXPECT_EQ(c[0].expert, 3);
  EXPECT_EQ(c[1].expert, 7);
  const double w0 = 1.0 / (1.0 + std::exp(2.5 - 3.0));
  EXPECT_NEAR(c[0].weight, w0, 1e-7);
  EXPECT_NEAR(c[1].weight, 1.0 - w0, 1e-7);
}

TEST(Router, EqualsFullSoftmaxRenormalized) {
  const float logits[6] = {0.3f, -0.2f, 1.7f, 1.1f, 0.9f, -2.0f};
  for (int k = 1; k <= 6; ++k) {
    std::vector<ExpertChoice> c(k);
    route_top_k(logits, 6, k, c.data());
    double z = 0;
    for (float l : logits) z += std::exp(l);
    double chosen = 0;
    for (auto& ch : c) chosen += std::exp(logits[ch.expert]) / z;
    for (auto& ch : c) EXPECT_NEAR(ch.weight, std::exp(logits[ch.expert]) / z / chosen, 1e-6) << "k=" << k;
    for (int i = 1; i < k; ++i) EXPECT_GE(logits[c[i - 1].expert], logits[c[i].expert]);
  }
}

TEST(Router, TiesGoToTheLowerIndexAndKEqualsNPicksAll) {
  const float logits[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  ExpertChoice c[4];
  route_top_k(logits, 4, 4, c);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(c[i].expert, i);
    EXPECT_FLOAT_EQ(c[i].weight, 0.25f);
  }
  ExpertChoice one;
  route_top_k(logits, 4, 1, &one);
  EXPECT_EQ(one.expert, 0);
  EXPECT_FLOAT_EQ(one.weight, 1.0f);
}

TEST(Router, NanLogitsNeverWin) {
  const float logits[3] = {NAN, -5.0f, NAN};
  ExpertChoice c;
  route_top_k(logits, 3, 1, &c);
  EXPECT_EQ(c.expert, 1);
}

TEST(Router, GroupsTokensByExpertInBatchOrder) {
  // 3 tokens, top-2 of 4: t0 -> {2, 0}, t1 -> {0, 3}, t2 -> {2, 1}
  const std::vector<ExpertChoice> choices = {{2, 0.6f}, {0, 0.4f}, {0, 0.7f}, {3, 0.3f}, {2, 0.9f}, {1, 0.1f}};
  const ExpertGroups g = group_by_expert(choices, 3, 2, 4);
  EXPECT_EQ(g.offset, (std::vector<int64_t>{0, 2, 3, 5, 6}));
  EXPECT_EQ(g.token, (std::vector<int32_t>{0, 1, 2, 0, 2, 1}));
  EXPECT_EQ(g.weight, (std::vector<float>{0.4f, 0.7f, 0.1f, 0.6f, 0.9f, 0.3f}));
  EXPECT_EQ(g.count(3), 1);
}

}  // namespace
}  // namespace smoe

// The forward pass on model shapes the golden files do not cover (other expert counts, every
// top-k, head counts, head dims, partial RoPE, sliding windows, tied embeddings, per-expert
// tensors, dense), against a plain float64 reference over the same weights.
#include "model/model.h"
#include "model/random_model.h"
#include "model/session.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cmath>

namespace smoe {
namespace {

struct NamedShape {
  const char* name;
  test::RandomModelShape shape;
};

std::vector<NamedShape> shapes() {
  std::vector<NamedShape> v;
  auto add = [&](const char* name, auto edit) {
    test::RandomModelShape s;
    edit(s);
    v.push_back({name, s});
  };
  add("mixtral_like_top2_of_4", [](auto&) {});
  add("top1_of_4", [](auto& s) { s.top_k = 1; });
  add("top3_of_3", [](auto& s) { s.n_expert = 3, s.top_k = 3; });
  add("top5_of_16", [](auto& s) { s.n_expert = 16, s.top_k = 5; });
  add("one_expert", [](auto& s) { s.n_expert = 1, s.top_k = 1; });
  add("dense", [](auto& s) { s.n_expert = 0, s.top_k = 0; });
  add("mha_6_heads", [](auto& s) { s.dim = 48, s.n_head = 6, s.n_kv_head = 6; });
  add("mqa_1_kv_head", [](auto& s) { s.n_head = 8, s.n_kv_head = 1; });
  add("head_dim_not_dim_over_heads", [](auto& s) { s.n_head = 4, s.n_kv_head = 2, s.head_dim = 12; });
  add("partial_rope", [](auto& s) { s.rope_dim = 4; });
  add("sliding_window_3", [](auto& s) { s.sliding_window = 3; });
  add("tied_embeddings", [](auto& s) { s.tied = true; });
  add("per_expert_tensors", [](auto& s) { s.per_expert_tensors = true; });
  add("three_layers_theta_1e6", [](auto& s) { s.n_layer = 3, s.rope_theta = 1e6f, s.seed = 7; });
  return v;
}

class Shapes : public ::testing::TestWithParam<NamedShape> {};

TEST_P(Shapes, MatchTheFloat64Reference) {
  const std::string path = test::temp_dir() + "/model.gguf";
  test::write_random_model(GetParam().shape, path);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 19; ++i) tokens.push_back(1 + (i * 37 + 11) % 60);
  const std::vector<double> ref = test::reference_logits(path, tokens);

  auto model = Model::load(path);
  const int64_t vocab = model->config().vocab;
  Session batch(*model), chunked(*model, 0, 4);
  std::vector<float> all, part, pieces;
  batch.eval(tokens, true, all);
  ASSERT_EQ(all.size(), ref.size());
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(all[i] - ref[i]));
  EXPECT_LT(worst, 2e-4) << GetParam().name;
  // Chunks of 4 (and a sliding-window ring that wraps) give the very same bits as one batch.
  for (size_t i = 0; i < tokens.size(); i += 5) {
    chunked.eval(std::span(tokens).subspan(i, std::min<size_t>(5, tokens.size() - i)), true, part);
    pieces.insert(pieces.end(), part.begin(), part.end());
  }
  EXPECT_EQ(all, pieces);
  EXPECT_EQ(static_cast<int64_t>(all.size()), static_cast<int64_t>(tokens.size()) * vocab);
}

INSTANTIATE_TEST_SUITE_P(Random, Shapes, ::testing::ValuesIn(shapes()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace smoe

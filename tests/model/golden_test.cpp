// The forward pass against ../shared/golden: llama.cpp's logits for F32 models (max |diff| <
// 1e-3) and the float64 ideal for every other type (mean KL no worse than 2x llama.cpp's own,
// floor 1e-4); prefill equals token-by-token decoding bit for bit; greedy continuations.
#include "model/golden_util.h"
#include "model/model.h"
#include "model/session.h"
#include "runtime/sampler.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <map>
#include <memory>

namespace smoe {
namespace {

using test::GoldenCase;

const Model& cached_model(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[path];
  if (!m) m = Model::load(path);
  return *m;
}

class GoldenLogits : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenLogits, MatchesReference) {
  SMOE_REQUIRE_SHARED();
  const GoldenCase& c = GetParam();
  const Model& model = cached_model(c.model);
  ASSERT_EQ(model.config().vocab, c.vocab);
  Session session(model);
  std::vector<float> logits;
  session.eval(c.tokens, true, logits);
  ASSERT_EQ(static_cast<int64_t>(logits.size()), static_cast<int64_t>(c.tokens.size()) * c.vocab);
  const float* ours = logits.data() + c.first_row * c.vocab;

  const std::vector<float> llama = test::read_f32_file(c.logits);
  ASSERT_EQ(static_cast<int64_t>(llama.size()), c.rows * c.vocab);
  if (c.ideal_logits.empty()) {
    double worst = 0;
    for (int64_t r = 0; r < c.rows; ++r)
      worst = std::max(worst, test::max_abs_diff(ours + r * c.vocab, &llama[r * c.vocab], c.vocab));
    RecordProperty("max_abs_diff", std::to_string(worst));
    std::printf("[golden] %-16s %-7s max|diff| vs llama.cpp = %.3g\n", c.name.c_str(), c.type.c_str(), worst);
    EXPECT_LT(worst, 1e-3);
    return;
  }
  const std::vector<float> ideal = test::read_f32_file(c.ideal_logits);
  ASSERT_EQ(ideal.size(), llama.size());
  double kl_ours = 0, kl_llama = 0;
  for (int64_t r = 0; r < c.rows; ++r) {
    kl_ours += test::kl_divergence(&ideal[r * c.vocab], ours + r * c.vocab, c.vocab);
    kl_llama += test::kl_divergence(&ideal[r * c.vocab], &llama[r * c.vocab], c.vocab);
  }
  kl_ours /= c.rows;
  kl_llama /= c.rows;
  std::printf("[golden] %-16s %-7s mean KL vs ideal: smoe %.3g, llama.cpp %.3g\n", c.name.c_str(), c.type.c_str(),
              kl_ours, kl_llama);
  EXPECT_LE(kl_ours, std::max(2 * kl_llama, 1e-4)) << "llama.cpp's own KL is " << kl_llama;
}

TEST_P(GoldenLogits, PrefillEqualsIncrementalDecode) {
  SMOE_REQUIRE_SHARED();
  const GoldenCase& c = GetParam();
  const Model& model = cached_model(c.model);
  // Long prompts: the first 40 positions suffice (and keep the test quick).
  const std::vector<int32_t> tokens(c.tokens.begin(), c.tokens.begin() + std::min<size_t>(c.tokens.size(), 40));
  Session batch(model), step(model);
  std::vector<float> all, one;
  batch.eval(tokens, true, all);
  for (size_t i = 0; i < tokens.size(); ++i) {
    step.eval(std::span(&tokens[i], 1), false, one);
    ASSERT_EQ(0, std::memcmp(one.data(), &all[i * c.vocab], c.vocab * sizeof(float)))
        << "position " << i << " differs between prefill and incremental decoding";
  }
}

// Only float32 models: greedy paths of quantized ones may diverge from llama.cpp's at near-ties.
class GoldenGreedy : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenGreedy, ContinuationMatchesLlamaCpp) {
  SMOE_REQUIRE_SHARED();
  const GoldenCase& c = GetParam();
  const Model& model = cached_model(c.model);
  Session session(model);
  std::vector<float> logits;
  session.eval(c.tokens, false, logits);
  for (size_t i = 0; i < c.greedy_next.size(); ++i) {
    const int32_t next = argmax(logits);
    ASSERT_EQ(next, c.greedy_next[i]) << "greedy token " << i;
    session.eval(std::span(&next, 1), false, logits);
  }
}

std::string case_name(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Shared, GoldenLogits, ::testing::ValuesIn(test::golden_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Shared, GoldenGreedy, ::testing::ValuesIn(test::golden_f32_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenLogits);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenGreedy);

}  // namespace
}  // namespace smoe

namespace smoe {
namespace {
// Says so in the log when the reference data is absent (the parameterized cases then vanish).
TEST(Golden, ReferenceDataPresent) { SMOE_REQUIRE_SHARED(); }
}  // namespace
}  // namespace smoe

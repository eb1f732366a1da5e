// Perplexity: the windowed method computed by hand from Session logits equals
// compute_perplexity, and texts shorter than one window are a clear error.
#include "core/error.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/session.h"
#include "runtime/perplexity.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cmath>

namespace smoe {
namespace {

TEST(Perplexity, EqualsTheWindowedMethodByHand) {
  const std::string path = test::temp_dir() + "/m.gguf";
  test::RandomModelShape shape;
  shape.vocab = 48;
  test::write_random_model(shape, path);
  auto model = Model::load(path);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 37; ++i) tokens.push_back(3 + (i * 7) % 40);
  PerplexityOptions options;
  options.n_ctx = 16;
  const PerplexityResult r = compute_perplexity(*model, tokens, options);
  EXPECT_EQ(r.windows, 2);               // 37 tokens: two whole windows of 16
  EXPECT_EQ(r.scored_tokens, 2 * 7);     // positions 8..14 predict 9..15

  double nll = 0;
  for (int w = 0; w < 2; ++w) {
    std::vector<int32_t> window(tokens.begin() + 16 * w, tokens.begin() + 16 * (w + 1));
    window[0] = 1;  // BOS
    Session s(*model);
    std::vector<float> logits;
    s.eval(window, true, logits);
    for (int j = 8; j < 15; ++j) {
      const float* row = &logits[j * 48];
      double z = 0;
      for (int v = 0; v < 48; ++v) z += std::exp(static_cast<double>(row[v]));
      nll += std::log(z) - row[tokens[16 * w + j + 1]];
    }
  }
  EXPECT_NEAR(r.perplexity, std::exp(nll / 14), 1e-9 * r.perplexity);
  EXPECT_GT(r.uncertainty, 0);

  options.max_windows = 1;
  EXPECT_EQ(compute_perplexity(*model, tokens, options).windows, 1);
  options.n_ctx = 64;
  EXPECT_THROW(compute_perplexity(*model, tokens, options), Error);
}

}  // namespace
}  // namespace smoe

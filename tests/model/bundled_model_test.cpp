// The bundled model (models/smoe-mixtral-tiny): smoe's perplexity on its held-out split agrees
// with the training tooling's within 1%, and it is the default model of the command line.
#include "model/model.h"
#include "runtime/perplexity.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace smoe {
namespace {

const std::string kModelDir = test::source_dir() + "/models/smoe-mixtral-tiny";

TEST(BundledModel, PerplexityAgreesWithTheTrainingTooling) {
  std::ifstream eval_file(kModelDir + "/eval.json");
  ASSERT_TRUE(eval_file) << "models/smoe-mixtral-tiny/eval.json is missing";
  const auto eval = nlohmann::json::parse(eval_file);
  auto model = Model::load(kModelDir);
  EXPECT_EQ(model->config().n_expert, 8);
  EXPECT_EQ(model->config().vocab, 32000);
  std::ifstream text_file(kModelDir + "/" + eval["text"].get<std::string>(), std::ios::binary);
  const std::string text(std::istreambuf_iterator<char>(text_file), {});
  const auto tokens = model->tokenizer().encode(text, true);
  PerplexityOptions options;
  options.n_ctx = eval["ctx"];
  const PerplexityResult r = compute_perplexity(*model, tokens, options);
  const double reference = eval["perplexity"];
  std::printf("[bundled] perplexity %.4f (training tooling %.3f, unigram %.1f)\n", r.perplexity, reference,
              eval["unigram_perplexity"].get<double>());
  EXPECT_EQ(r.windows, eval["windows"].get<int64_t>());
  EXPECT_EQ(r.scored_tokens, eval["scored_tokens"].get<int64_t>());
  EXPECT_NEAR(r.perplexity, reference, 0.01 * reference);
  EXPECT_LT(r.perplexity, eval["unigram_perplexity"].get<double>() / 5);
}

}  // namespace
}  // namespace smoe

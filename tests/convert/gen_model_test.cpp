// smoe gen-model: the file has the preset's shapes and the mix's types, loads, and computes
// finite logits; a bad preset or type is a clear error.
#include "convert/model_generator.h"
#include "core/error.h"
#include "model/model.h"
#include "model/session.h"
#include "model/summary.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace smoe {
namespace {

TEST(GenModel, OneLayerMistralLoadsAndComputes) {
  GenerateModelOptions o;
  o.preset = "mistral-7b";
  o.layers = 1;
  o.type = "Q2_K";
  o.output = test::temp_dir() + "/m.gguf";
  o.progress = false;
  const auto report = generate_model(o);
  EXPECT_EQ(report.bytes, std::filesystem::file_size(o.output));
  auto model = Model::load(o.output);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.dim, 4096);
  EXPECT_EQ(c.n_layer, 1);
  EXPECT_EQ(c.n_kv_head, 8);
  EXPECT_EQ(c.n_expert, 0);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_EQ(c.vocab, 32000);
  const auto summary = summarize(*model);
  EXPECT_TRUE(summary.by_type.count("Q2_K"));
  EXPECT_TRUE(summary.by_type.count("Q6_K"));  // the output matrix, as llama-quantize chooses
  Session s(*model);
  std::vector<float> logits;
  s.eval(std::vector<int32_t>{1, 500, 600, 700}, false, logits);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(GenModel, PresetsHaveTheRealShapes) {
  const ModelConfig m = preset_config("mixtral-8x7b");
  EXPECT_EQ(m.n_layer, 32);
  EXPECT_EQ(m.hidden, 14336);
  EXPECT_EQ(m.n_expert, 8);
  const ModelConfig big = preset_config("mixtral-8x22b");
  EXPECT_EQ(big.dim, 6144);
  EXPECT_EQ(big.n_layer, 56);
  EXPECT_THROW(preset_config("llama-3"), Error);
  GenerateModelOptions o;
  o.preset = "mixtral-8x7b";
  o.type = "Q9_X";
  o.output = test::temp_dir() + "/x.gguf";
  EXPECT_THROW(generate_model(o), Error);
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

}  // namespace
}  // namespace smoe

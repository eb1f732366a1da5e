// Hugging Face checkpoints (../shared/hf): logits within 1e-3 of the float64 reference with HF
// semantics (RoPE on halves, sliding window), tokenization of the prompt with the directory's
// tokenizer.model, and the sliding-window cache wrapping around in long generations.
#include "core/error.h"
#include "model/golden_util.h"
#include "model/model.h"
#include "model/session.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace smoe {
namespace {

struct HfCase {
  std::string dir, prompt_text, ideal;
  std::vector<int32_t> tokens;
  int64_t vocab = 0;
};

std::vector<HfCase> hf_cases() {
  std::vector<HfCase> cases;
  if (test::shared_dir().empty()) return cases;
  std::ifstream f(test::shared_path("hf/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(f);
  for (const auto& c : manifest["cases"]) {
    HfCase h;
    h.dir = test::shared_path("hf/" + c["model_dir"].get<std::string>());
    h.prompt_text = c["prompt_text"];
    h.ideal = test::shared_path("hf/" + c["ideal_logits"].get<std::string>());
    h.tokens = c["tokens"].get<std::vector<int32_t>>();
    h.vocab = c["logits_shape"][1];
    cases.push_back(h);
  }
  return cases;
}

double worst_diff(const std::vector<float>& ours, const std::vector<float>& ideal) {
  return test::max_abs_diff(ours.data(), ideal.data(), static_cast<int64_t>(ideal.size()));
}

TEST(HfCheckpoint, LogitsMatchTheFloat64Reference) {
  SMOE_REQUIRE_SHARED();
  ASSERT_EQ(hf_cases().size(), 2u);
  for (const HfCase& c : hf_cases()) {
    auto model = Model::load(c.dir);
    EXPECT_EQ(model->tokenizer().encode(c.prompt_text, true), c.tokens) << c.dir;
    Session s(*model);
    std::vector<float> logits;
    s.eval(c.tokens, true, logits);
    const auto ideal = test::read_f32_file(c.ideal);
    ASSERT_EQ(logits.size(), ideal.size());
    const double diff = worst_diff(logits, ideal);
    std::printf("[hf] %-40s max|diff| vs ideal = %.3g\n", std::filesystem::path(c.dir).filename().c_str(), diff);
    EXPECT_LT(diff, 1e-3) << c.dir;
  }
}

TEST(HfCheckpoint, SlidingWindowCacheWrapsAroundExactly) {
  SMOE_REQUIRE_SHARED();
  for (const HfCase& c : hf_cases()) {
    auto model = Model::load(c.dir);
    if (model->config().sliding_window == 0) continue;
    ASSERT_LT(model->config().sliding_window, static_cast<int64_t>(c.tokens.size()));
    // Chunks of 3 tokens: the cache keeps window + 3 slots, so a 29-token prompt wraps it.
    Session whole(*model), rolling(*model, 0, 3);
    EXPECT_LT(rolling.kv_slots(), static_cast<int64_t>(c.tokens.size()));
    std::vector<float> expected, part, got;
    whole.eval(c.tokens, true, expected);
    for (size_t i = 0; i < c.tokens.size(); i += 3) {
      const size_t n = std::min<size_t>(3, c.tokens.size() - i);
      rolling.eval(std::span(c.tokens).subspan(i, n), true, part);
      got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(expected, got);
    EXPECT_LT(worst_diff(got, test::read_f32_file(c.ideal)), 1e-3);
  }
}

TEST(HfCheckpoint, BrokenDirectoriesAreClearErrors) {
  SMOE_REQUIRE_SHARED();
  namespace fs = std::filesystem;
  const fs::path src = test::shared_path("hf/hf-mixtral-micro");
  auto copy_dir = [&](const std::string& name) {
    const fs::path dst = fs::path(test::temp_dir()) / name;
    fs::create_directories(dst);
    for (const auto& e : fs::directory_iterator(src)) fs::copy(e.path(), dst / e.path().filename());
    return dst;
  };
  auto expect_error = [](const fs::path& dir, const std::string& part) {
    try {
      Model::load(dir.string());
      ADD_FAILURE() << "expected an error mentioning '" << part << "' for " << dir;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  auto edit_config = [](const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j;
    {
      std::ifstream f(dir / "config.json");
      j = nlohmann::json::parse(f);
    }
    edit(j);
    std::ofstream(dir / "config.json") << j.dump(1);
  };

  fs::path d = copy_dir("missing-shard");
  fs::remove(d / "model-00002-of-00002.safetensors");
  expect_error(d, "model-00002-of-00002.safetensors");

  d = copy_dir("unknown-arch");
  edit_config(d, [](nlohmann::json& j) { j["architectures"] = {"GPT2LMHeadModel"}; });
  expect_error(d, "GPT2LMHeadModel");

  d = copy_dir("contradiction");
  edit_config(d, [](nlohmann::json& j) { j["intermediate_size"] = 256; });
  expect_error(d, "expected [64, 256]");

  d = copy_dir("more-layers");
  edit_config(d, [](nlohmann::json& j) { j["num_hidden_layers"] = 3; });
  expect_error(d, "missing tensor 'model.layers.2.");

  d = copy_dir("bad-json");
  std::ofstream(d / "config.json") << "{\"hidden_size\": 64,";
  expect_error(d, "not valid JSON");

  // A config.json beyond the JSON side-file limit (16 MiB) is refused before it is parsed.
  d = copy_dir("huge-config");
  {
    std::ofstream f(d / "config.json");
    f << "{\"pad\": \"" << std::string(17u << 20, 'x') << "\"}";
  }
  expect_error(d, "larger than the 16 MiB");

  d = copy_dir("truncated-shard");
  fs::resize_file(d / "model-00001-of-00002.safetensors", 1000);
  expect_error(d, "model-00001-of-00002.safetensors");

  d = copy_dir("no-config");
  fs::remove(d / "config.json");
  expect_error(d, "config.json");
}

}  // namespace
}  // namespace smoe

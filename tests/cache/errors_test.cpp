// Expert cache failures are one clear error, never a hang or a crash: a budget smaller than one
// expert, a bad --expert-cache value, and a model file truncated after it was opened.
#include "cache_test_util.h"
#include "convert/convert.h"
#include "core/error.h"
#include "support/run_smoe.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace smoe {
namespace {

std::string bundled_model() { return test::source_dir() + "/models/smoe-mixtral-tiny"; }

TEST(ExpertCacheErrors, BudgetSmallerThanOneExpert) {
  try {
    test::load_with_cache(bundled_model(), "16K");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("smaller than one expert"), std::string::npos) << e.what();
  }
}

TEST(ExpertCacheErrors, CommandLine) {
  const std::string model = bundled_model();
  test::RunResult r = test::run_smoe({"run", "-m", model, "-p", "Hello", "-n", "1", "--expert-cache", "16K"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "error: --expert-cache 16 KiB is smaller than one expert")) << r.err;
  r = test::run_smoe({"logits", "-m", model, "--tokens", "1,2", "-o", "/dev/null", "--expert-cache", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "at least one expert slot")) << r.err;
  r = test::run_smoe({"run", "-m", model, "-p", "Hello", "-n", "1", "--expert-cache", "lots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "expected a size with a unit")) << r.err;
  r = test::run_smoe({"run", "-m", model, "-p", "Hello", "-n", "1", "--no-prefetch"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "--no-prefetch needs --expert-cache")) << r.err;
}

TEST(ExpertCacheErrors, CommandLineRunsWithACacheAndReports) {
  const test::RunResult r = test::run_smoe(
      {"run", "-m", bundled_model(), "-p", "It is a truth", "-n", "4", "--temp", "0", "--expert-cache", "3", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::contains(r.err, "expert cache: 3 slots")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "hit rate")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "prefetch accuracy")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "MB read per token")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "stalled on I/O")) << r.err;
  // The same text as without the cache.
  const test::RunResult plain = test::run_smoe({"run", "-m", bundled_model(), "-p", "It is a truth", "-n", "4", "--temp", "0"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(r.out, plain.out);
}

TEST(ExpertCacheErrors, FileTruncatedAfterOpeningIsAClearError) {
  const std::string dir = test::temp_dir();
  ConvertOptions o;
  o.source = bundled_model();
  o.output = dir + "/tiny-q8_0.gguf";
  o.type = "Q8_0";
  o.threads = 1;  // a fixture: no OpenMP team, whose barriers ThreadSanitizer cannot see (tsan preset)
  o.progress = ConvertOptions::Progress::Never;
  convert_model(o);
  auto model = test::load_with_cache(o.output, "2", EvictionPolicy::Lru, /*prefetch=*/false);
  // Cut the file inside its last expert tensor. Only norms may follow it (they are copied at
  // load): other non-expert weights are used through the mapping, where a truncated page would
  // be a crash (SIGBUS) rather than an error.
  const GgufTensor* last = nullptr;
  for (const GgufTensor& t : model->gguf()->tensors())
    if (t.name.find("_exps.") != std::string::npos && (!last || t.data > last->data)) last = &t;
  ASSERT_NE(last, nullptr);
  for (const GgufTensor& t : model->gguf()->tensors())
    if (t.data > last->data && t.ne.size() != 1)
      GTEST_SKIP() << "the converter wrote " << t.name << " after the last expert tensor";
  const uint64_t cut = static_cast<uint64_t>(last->data - model->gguf()->file_data()) + last->n_bytes / 2;
  std::filesystem::resize_file(o.output, cut);
  Session session(*model);
  std::vector<float> logits;
  try {
    // Decode until the router picks an expert of the cut tensor (several tokens make it certain).
    for (int32_t t = 1; t < 200; ++t) session.eval(std::span(&t, 1), false, logits);
    FAIL() << "no error after 199 tokens";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected end of file"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("matrix of expert"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smoe

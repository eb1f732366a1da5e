// The smoe command line as a user drives it: exit codes, error lines, outputs of each command.
#include "support/run_smoe.h"
#include "support/test_paths.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace smoe {
namespace {

using Result = test::RunResult;
using test::contains;

Result smoe(const std::vector<std::string>& args) { return test::run_smoe(args); }

TEST(Cli, HelpAndUsageErrors) {
  EXPECT_EQ(smoe({"--help"}).exit_code, 0);
  for (const char* cmd : {"run", "logits", "tokenize", "detokenize", "info"}) {
    Result r = smoe({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_TRUE(contains(r.out, "--model")) << cmd;
  }
  EXPECT_NE(smoe({}).exit_code, 0);
  EXPECT_NE(smoe({"frobnicate"}).exit_code, 0);
  // Without -m, run uses the bundled model; SMOE_MODEL pointing nowhere is a clear error.
  const std::string bogus = "SMOE_MODEL=/nonexistent/model " + test::smoe_binary() + " run -p hi -n 1 2>&1";
  std::FILE* pipe = popen(bogus.c_str(), "r");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  EXPECT_NE(pclose(pipe), 0);
  EXPECT_TRUE(contains(out, "/nonexistent/model")) << out;
  Result unknown_flag = smoe({"info", "-m", "x.gguf", "--bogus"});
  EXPECT_GT(unknown_flag.exit_code, 0);
  EXPECT_TRUE(contains(unknown_flag.err, "--bogus")) << unknown_flag.err;
}

TEST(Cli, MissingAndMalformedFilesAreOneErrorLine) {
  Result r = smoe({"run", "-m", "/nonexistent/model.gguf", "-p", "hi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: cannot open '/nonexistent/model.gguf'")) << r.err;
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/junk.gguf") << "GGUF\x03\x00\x00\x00garbage";
  r = smoe({"info", "-m", dir + "/junk.gguf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, TruncatedModelIsACleanError) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  std::ifstream in(test::shared_path("golden/micro-q4_0.gguf"), std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  for (size_t cut : {size_t{7}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    std::ofstream(dir + "/cut.gguf", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    Result r = smoe({"run", "-m", dir + "/cut.gguf", "-p", "hi", "-n", "2"});
    EXPECT_EQ(r.exit_code, 1) << "cut at " << cut << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "error: ")) << r.err;
  }
}

TEST(Cli, TokenizeAndDetokenize) {
  SMOE_REQUIRE_SHARED();
  const std::string sp = test::shared_path("tokenizer/mixtral-v1.tokenizer.model");
  Result r = smoe({"tokenize", "-m", sp, "-p", "Hello world", "--no-bos"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse("[22557, 1526]"));
  r = smoe({"tokenize", "-m", sp, "-p", "Hello world"});
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse("[1, 22557, 1526]"));
  r = smoe({"detokenize", "-m", sp, "--ids", "1,22557,1526"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world\n");
  r = smoe({"detokenize", "-m", sp, "--ids", "1,99999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "99999")) << r.err;
  r = smoe({"detokenize", "-m", sp, "--ids", "1,abc"});
  EXPECT_EQ(r.exit_code, 1);
  // A GGUF model carries its own vocabulary.
  r = smoe({"tokenize", "-m", test::shared_path("golden/micro-f32.gguf"), "-p", "int main() {"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse("[1, 938, 1667, 580, 426]"));
}

TEST(Cli, InfoReportsShapeAndParameters) {
  SMOE_REQUIRE_SHARED();
  Result r = smoe({"info", "-m", test::shared_path("golden/small-q4_k_m.gguf"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["shape"]["dim"], 256);
  EXPECT_EQ(j["shape"]["n_layer"], 3);
  EXPECT_EQ(j["shape"]["n_expert"], 8);
  EXPECT_EQ(j["shape"]["n_expert_used"], 2);
  EXPECT_TRUE(j["types"].contains("Q4_K"));
  EXPECT_TRUE(j["types"].contains("Q6_K"));
  const int64_t total = j["parameters"]["total"], active = j["parameters"]["active_per_token"];
  EXPECT_EQ(total - active, 3 * 6 * (3 * 256 * 512));  // 6 idle experts per layer
  r = smoe({"info", "-m", test::shared_path("golden/dense-f32.gguf")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "dense")) << r.out;
}

TEST(Cli, LogitsBatchEqualsIncrementalAndRunGenerates) {
  SMOE_REQUIRE_SHARED();
  const std::string model = test::shared_path("golden/micro-q8_0.gguf");
  const std::string dir = test::temp_dir();
  Result a = smoe({"logits", "-m", model, "--tokens", "1,450,439,860", "-o", dir + "/a.f32"});
  Result b = smoe({"logits", "-m", model, "--tokens", "1,450,439,860", "-o", dir + "/b.f32", "--incremental"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(std::filesystem::file_size(dir + "/a.f32"), 4u * 4096 * 4);
  std::ifstream fa(dir + "/a.f32", std::ios::binary), fb(dir + "/b.f32", std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(fa), {}, std::istreambuf_iterator<char>(fb)));
  Result p = smoe({"logits", "-m", model, "-p", "The quick brown fox", "-o", dir + "/p.f32"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  Result none = smoe({"logits", "-m", model, "-o", dir + "/n.f32"});
  EXPECT_EQ(none.exit_code, 1);

  Result run = smoe({"run", "-m", model, "-p", "The quick brown fox", "-n", "12", "--temp", "0"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_GT(run.out.size(), 1u);
  EXPECT_TRUE(contains(run.err, "tokens/s")) << run.err;
  Result again = smoe({"run", "-m", model, "-p", "The quick brown fox", "-n", "12", "--temp", "0"});
  EXPECT_EQ(run.out, again.out);
  Result seeded1 = smoe({"run", "-m", model, "-p", "Once", "-n", "12", "--seed", "5", "--temp", "1"});
  Result seeded2 = smoe({"run", "-m", model, "-p", "Once", "-n", "12", "--seed", "5", "--temp", "1"});
  EXPECT_EQ(seeded1.out, seeded2.out);
  Result bad = smoe({"run", "-m", model, "-p", "x", "--top-p", "0"});
  EXPECT_EQ(bad.exit_code, 1);
  Result ctx = smoe({"run", "-m", model, "-p", "The quick brown fox jumps", "--ctx", "4"});
  EXPECT_EQ(ctx.exit_code, 1);
  EXPECT_TRUE(contains(ctx.err, "context")) << ctx.err;
}

}  // namespace
}  // namespace smoe

namespace smoe {
namespace {

TEST(Cli, ChatTokenizeReproducesTheSampleFromAnyTokenizerSource) {
  SMOE_REQUIRE_SHARED();
  const std::string messages = test::shared_path("tokenizer/mixtral-v1-chat-sample.messages.json");
  std::ifstream f(test::shared_path("tokenizer/mixtral-v1-chat-sample.tokens.json"));
  const auto expected = nlohmann::json::parse(f)["tokens"];
  for (const std::string& model : {test::shared_path("tokenizer/mixtral-v1.tokenizer.model"),
                                   test::shared_path("hf/hf-mixtral-micro")}) {
    Result r = smoe({"chat-tokenize", "-m", model, "-f", messages});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out), expected) << model;
  }
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/bad.json") << R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})";
  Result r = smoe({"chat-tokenize", "-m", test::shared_path("hf/hf-mixtral-micro"), "-f", dir + "/bad.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "alternate")) << r.err;
  std::ofstream(dir + "/broken.json") << "{\"messages\": [";
  r = smoe({"chat-tokenize", "-m", test::shared_path("hf/hf-mixtral-micro"), "-f", dir + "/broken.json"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST(Cli, ChatAnswersEachTurnAndKeepsTheConversation) {
  SMOE_REQUIRE_SHARED();
  const std::string model = test::shared_path("hf/hf-mixtral-micro");
  Result r = test::run_smoe({"chat", "-m", model, "-n", "5", "--temp", "0", "--system", "Be brief."},
                             "Hello there\n\nHow are you?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // one reply line per turn
  Result again = test::run_smoe({"run", "--chat", "-m", model, "-n", "5", "--temp", "0", "--system", "Be brief."},
                                 "Hello there\nHow are you?\n/exit\nignored\n");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(r.out, again.out);
  Result full = test::run_smoe({"chat", "-m", model, "--ctx", "24", "-n", "4"}, std::string(200, 'x') + " words words words\n");
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_TRUE(contains(full.err, "context")) << full.err;
}

}  // namespace
}  // namespace smoe

namespace smoe {
namespace {

TEST(Cli, PerplexityAndRoutes) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  std::string text;
  for (int i = 0; i < 60; ++i) text += "The router sends every token to two of the eight experts in each layer. ";
  std::ofstream(dir + "/text.txt") << text;
  const std::string model = test::shared_path("golden/small-q8_0.gguf");
  Result p = smoe({"perplexity", "-m", model, "-f", dir + "/text.txt", "--ctx", "64", "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto j = nlohmann::json::parse(p.out);
  EXPECT_GT(j["perplexity"].get<double>(), 1.0);
  EXPECT_GT(j["windows"].get<int>(), 5);
  Result too_short = smoe({"perplexity", "-m", model, "-f", dir + "/text.txt", "--ctx", "4096"});
  EXPECT_EQ(too_short.exit_code, 1);
  EXPECT_TRUE(contains(too_short.err, "fewer than one window")) << too_short.err;

  Result r = smoe({"routes", "-m", model, "-f", dir + "/text.txt", "-o", dir + "/routes", "--ctx", "128"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "same-1st")) << r.out;
  std::ifstream jf(dir + "/routes.json");
  auto routes = nlohmann::json::parse(jf);
  EXPECT_EQ(routes["layers"].size(), 3u);
  EXPECT_EQ(routes["trace"][0].size(), routes["tokens"].get<size_t>());
  EXPECT_TRUE(std::filesystem::file_size(dir + "/routes.svg") > 1000);
  Result dense = smoe({"routes", "-m", test::shared_path("golden/dense-f32.gguf"), "-f", dir + "/text.txt", "-o",
                       dir + "/d"});
  EXPECT_EQ(dense.exit_code, 1);
  EXPECT_TRUE(contains(dense.err, "dense")) << dense.err;
}

}  // namespace
}  // namespace smoe

namespace smoe {
namespace {

TEST(Cli, RunWithoutModelUsesTheBundledModel) {
  Result r = smoe({"run", "-p", "And it came to pass", "-n", "16", "--seed", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(r.out.size(), 16u);
  EXPECT_TRUE(contains(r.err, "tokens/s")) << r.err;
  Result info = smoe({"info", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_TRUE(contains(nlohmann::json::parse(info.out)["path"].get<std::string>(), "smoe-mixtral-tiny"));
}

}  // namespace
}  // namespace smoe

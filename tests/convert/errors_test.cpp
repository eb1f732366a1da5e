// Failures of `smoe convert`, through the binary (one "error:" line, exit 1, no output file
// left behind, not even OUT.tmp) and through the API (smoe::Error naming the problem); and the
// command's normal output.
#include "convert_test_util.h"
#include "core/error.h"
#include "support/run_smoe.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace smoe {
namespace {

namespace fs = std::filesystem;

using Result = test::RunResult;
using test::contains;

Result smoe(const std::vector<std::string>& args) { return test::run_smoe(args); }

// One "error: ..." line containing `message`, exit status 1, and no output file.
void expect_clean_failure(const std::vector<std::string>& args, const std::string& message, const std::string& out) {
  const Result r = smoe(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, message)) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  std::error_code ec;
  EXPECT_FALSE(fs::exists(out, ec)) << out;
  EXPECT_FALSE(fs::exists(out + ".tmp", ec)) << out;
}

TEST(ConvertCli, ErrorsAreOneLineAndLeaveNoFile) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const std::string out = dir + "/out.gguf";
  const std::string hf = test::shared_path("hf/hf-mixtral-micro");
  expect_clean_failure({"convert", hf, "-o", out, "--type", "Q9_9"}, "unknown --type 'Q9_9' (one of F32, F16, BF16", out);
  expect_clean_failure({"convert", dir + "/missing", "-o", out}, "cannot open '" + dir + "/missing'", out);
  std::ofstream(dir + "/notes.txt") << "not a model";
  expect_clean_failure({"convert", dir + "/notes.txt", "-o", out},
                       "is neither a GGUF file nor a Hugging Face checkpoint directory", out);
  fs::create_directories(dir + "/empty_dir");
  expect_clean_failure({"convert", dir + "/empty_dir", "-o", out}, "not a Hugging Face checkpoint", out);
  expect_clean_failure({"convert", hf, "-o", dir + "/no/such/dir/out.gguf"}, "does not exist", dir + "/no/such/dir/out.gguf");
  // Not writable even for root.
  expect_clean_failure({"convert", hf, "-o", "/proc/smoe-convert-test.gguf"}, "/proc/smoe-convert-test.gguf",
                       "/proc/smoe-convert-test.gguf");
  expect_clean_failure({"convert", hf, "-o", dir}, "is a directory", dir + "/out.gguf");
  expect_clean_failure({"convert", test::shared_path("golden/small-q4_k_m.gguf"), "-o", out}, "choose the output with --type",
                       out);
  // A truncated GGUF: the loader's error, and still no output.
  std::ifstream in(test::shared_path("golden/micro-q8_0.gguf"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir + "/cut.gguf", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  expect_clean_failure({"convert", dir + "/cut.gguf", "-o", out, "--type", "Q4_0"}, "cut.gguf", out);
}

TEST(ConvertCli, UsageErrorsExitWithTwo) {
  Result r = smoe({"convert", "somewhere"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--output")) << r.err;
  r = smoe({"convert", "-o", "x.gguf"});
  EXPECT_EQ(r.exit_code, 2);
  r = smoe({"convert", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "Q4_K_M")) << r.out;
}

TEST(ConvertCli, SuccessPrintsOneSummaryLineAndNoBarWithoutATerminal) {
  SMOE_REQUIRE_SHARED();
  const std::string out = test::temp_dir() + "/micro.gguf";
  const Result r = smoe({"convert", test::shared_path("hf/hf-mixtral-micro"), "-o", out, "--type", "q4_k_m", "-t", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // stderr is a file here: no progress bar
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_TRUE(contains(r.out, "Q4_K_M")) << r.out;
  EXPECT_TRUE(contains(r.out, " in ")) << r.out;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST(ConvertApi, ErrorsNameTheProblem) {
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  auto message = [&](const std::string& source, const std::string& output, const std::string& type) -> std::string {
    try {
      test::convert_quietly(source, fs::path(output).parent_path().string(), fs::path(output).filename().string(), type);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  const std::string hf = test::shared_path("hf/hf-mixtral-micro");
  EXPECT_TRUE(contains(message(hf, dir + "/a.gguf", "q4_k_x"), "unknown --type 'q4_k_x'"));
  EXPECT_TRUE(contains(message(dir + "/nothing", dir + "/a.gguf", "F16"), "no such file"));
  const std::string golden = test::shared_path("golden/micro-f32.gguf");
  EXPECT_TRUE(contains(message(golden, golden, "F16"), "is the source itself"));
  // A checkpoint without its tokenizer: llama.cpp could not load the output, so no output.
  const std::string partial = dir + "/no-tokenizer";
  fs::create_directories(partial);
  for (const auto& entry : fs::directory_iterator(hf))
    if (entry.path().filename() != "tokenizer.model") fs::create_symlink(entry.path(), partial / entry.path().filename());
  EXPECT_TRUE(contains(message(partial, dir + "/b.gguf", "F16"), "no tokenizer.model"));
  EXPECT_FALSE(fs::exists(dir + "/a.gguf"));
  EXPECT_FALSE(fs::exists(dir + "/b.gguf"));
  EXPECT_FALSE(fs::exists(dir + "/b.gguf.tmp"));
}

}  // namespace
}  // namespace smoe

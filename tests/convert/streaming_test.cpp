// Streaming: converting holds one output tensor at a time, not the model. The `smoe convert`
// process is run on its own and its peak resident memory measured (wait4's rusage).
#include "convert_test_util.h"
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char** environ;

namespace smoe {
namespace {

// Runs the smoe binary with `args`, output discarded; returns its peak RSS in bytes, or -1.
int64_t peak_rss_of(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings = {test::smoe_binary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

TEST(Streaming, PeakMemoryIsAboutTheLargestTensorNotTheModel) {
  SMOE_REQUIRE_SHARED();
  const std::string out = test::temp_dir() + "/small-f32.gguf";
  // small-q8_0 (12 MiB) widened to F32: a 48 MiB output whose largest tensor is 4 MiB.
  const int64_t rss = peak_rss_of({"convert", test::shared_path("golden/small-q8_0.gguf"), "-o", out, "--type", "F32",
                                   "-t", "2"});
  ASSERT_GT(rss, 0);
  const GgufFile written = GgufFile::open(out);
  size_t largest = 0;
  for (const GgufTensor& t : written.tensors()) largest = std::max(largest, t.n_bytes);
  const auto output_bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  std::printf("[streaming] output %.1f MiB, largest tensor %.1f MiB, peak RSS %.1f MiB\n", output_bytes / 1048576.0,
              largest / 1048576.0, rss / 1048576.0);
  // The process itself (binary, libraries, the metadata) takes a few MiB.
  EXPECT_LT(rss, static_cast<int64_t>(largest) + (16 << 20));
  EXPECT_LT(rss, output_bytes / 2);
}

}  // namespace
}  // namespace smoe

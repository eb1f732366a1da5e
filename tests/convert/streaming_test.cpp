// Streaming: converting holds one output tensor at a time, not the model. Measured in this
// process: the peak resident memory (VmHWM, reset just before) above the resident memory before
// the conversion.
#include "convert_test_util.h"
#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace smoe {
namespace {

// A "VmRSS:"-style field of /proc/self/status in bytes, or -1.
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field + ":")) {
      std::istringstream in(line.substr(field.size() + 1));
      int64_t kib = -1;
      in >> kib;
      return kib < 0 ? -1 : kib * 1024;
    }
  return -1;
}

// Makes VmHWM the current RSS (Linux: "5" in clear_refs); false when unsupported.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

TEST(Streaming, PeakMemoryIsAboutTheLargestTensorNotTheModel) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The resident memory is then the sanitizer's too (ASan's quarantine keeps freed blocks).
  GTEST_SKIP() << "resident memory is not the converter's under a sanitizer";
#endif
  SMOE_REQUIRE_SHARED();
  const std::string dir = test::temp_dir();
  const int64_t before = status_bytes("VmRSS");
  if (before < 0 || !reset_peak_rss()) GTEST_SKIP() << "no /proc/self/status or clear_refs: cannot measure";
  // small-q8_0 (12 MiB) widened to F32: a 46 MiB output whose largest tensor is 4 MiB.
  const std::string out = test::convert_quietly(test::shared_path("golden/small-q8_0.gguf"), dir, "small-f32.gguf", "F32");
  const int64_t growth = status_bytes("VmHWM") - before;

  const GgufFile written = GgufFile::open(out);
  size_t largest = 0;
  for (const GgufTensor& t : written.tensors()) largest = std::max(largest, t.n_bytes);
  const auto output_bytes = static_cast<int64_t>(std::filesystem::file_size(out));
  std::printf("[streaming] output %.1f MiB, largest tensor %.1f MiB, peak memory growth %.1f MiB\n",
              output_bytes / 1048576.0, largest / 1048576.0, growth / 1048576.0);
  // Beyond the output buffer: the metadata, a row per thread, the source pages in flight.
  EXPECT_LT(growth, static_cast<int64_t>(largest) + (8 << 20));
  EXPECT_LT(growth, output_bytes / 4);
}

}  // namespace
}  // namespace smoe

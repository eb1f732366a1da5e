// Where tests find the reference data (../shared next to the project root) and the smoe binary.
#pragma once
#include <string>

namespace smoe::test {

// Absolute path of ../shared, or "" when it is absent (a user's clone has none).
std::string shared_dir();
// shared_dir() + "/" + rel; calls GTEST_SKIP-friendly helpers below when absent.
std::string shared_path(const std::string& rel);
// The project root (for tests that need repository files).
std::string source_dir();
// The built smoe binary.
std::string smoe_binary();
// A fresh empty directory for this test's temporary files.
std::string temp_dir();

}  // namespace smoe::test

// Skip the current test with a clear message when ../shared is absent.
#define SMOE_REQUIRE_SHARED()                                                          \
  do {                                                                                 \
    if (::smoe::test::shared_dir().empty())                                            \
      GTEST_SKIP() << "../shared reference data not found next to the project; skipped"; \
  } while (0)

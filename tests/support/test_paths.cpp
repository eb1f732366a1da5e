// Locates reference data and build products for the tests.
#include "support/test_paths.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;

namespace smoe::test {

std::string source_dir() { return SMOE_SOURCE_DIR; }
std::string smoe_binary() { return SMOE_BINARY; }

std::string shared_dir() {
  if (const char* env = std::getenv("SMOE_SHARED_DIR"); env && *env)
    return fs::is_directory(env) ? fs::absolute(env).string() : std::string();
  fs::path p = fs::path(SMOE_SOURCE_DIR).parent_path() / "shared";
  return fs::is_directory(p / "golden") ? p.string() : std::string();
}

std::string shared_path(const std::string& rel) { return shared_dir() + "/" + rel; }

std::string temp_dir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "smoe";
  for (char& c : name)
    if (c == '/') c = '_';
  fs::path dir = fs::temp_directory_path() /
                 ("smoe-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace smoe::test

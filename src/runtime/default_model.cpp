// Locating the bundled default model.
#include "runtime/default_model.h"

#include "core/error.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace fs = std::filesystem;

namespace smoe {

std::string resolve_model_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("SMOE_MODEL"); env && *env) return env;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "models" / kBundledModelName);
    candidates.push_back(exe.parent_path() / "models" / kBundledModelName);
  }
#ifdef SMOE_SOURCE_DIR
  candidates.push_back(fs::path(SMOE_SOURCE_DIR) / "models" / kBundledModelName);
#endif
  std::string looked;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "config.json", ec)) return c.string();
    const std::string shown = c.lexically_normal().string();
    if (looked.find(shown) == std::string::npos) looked += (looked.empty() ? "" : ", ") + shown;
  }
  fail("no model given (-m MODEL) and the bundled model '{}' was not found (looked in {}; or set SMOE_MODEL)",
       kBundledModelName, looked);
}

}  // namespace smoe

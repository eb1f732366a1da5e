// Size-limited reading of JSON side files (see json_file.h).
#include "formats/json_file.h"

#include "core/error.h"

#include <fstream>

namespace smoe {

std::string read_json_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '{}'", path);
  // Read in pieces up to one byte past the limit rather than trusting the file size: pipes and
  // device files report none.
  std::string text;
  char piece[1 << 16];
  while (text.size() <= kMaxJsonFileBytes && f.read(piece, sizeof piece).gcount() > 0)
    text.append(piece, static_cast<size_t>(f.gcount()));
  if (f.bad()) fail("cannot read '{}'", path);
  if (text.size() > kMaxJsonFileBytes)
    fail("'{}' is larger than the {} MiB accepted for a JSON file beside the weights", path, kMaxJsonFileBytes >> 20);
  return text;
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_json_text(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("'{}' is not valid JSON: {}", path, e.what());
  }
}

}  // namespace smoe

// Parsing of expert cache budgets.
#include "cache/cache_size.h"

#include "core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace smoe {

std::string ExpertCacheBudget::describe() const {
  if (slots > 0) return fmt::format("{} slot{}", slots, slots == 1 ? "" : "s");
  const double kib = bytes / 1024.0, mib = kib / 1024, gib = mib / 1024;
  return gib >= 1 ? fmt::format("{:.4g} GiB", gib) : mib >= 1 ? fmt::format("{:.4g} MiB", mib) : fmt::format("{:.4g} KiB", kib);
}

ExpertCacheBudget parse_expert_cache_budget(std::string_view text) {
  auto bad = [&]() -> ExpertCacheBudget {
    fail("--expert-cache '{}': expected a size with a unit (e.g. 6G, 512M) or a number of expert slots (e.g. 12)",
         text);
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  if (s.empty()) return bad();
  // Optional unit suffix: K, M, G, T, each optionally followed by "iB" or "B".
  uint64_t unit = 0;
  std::string_view number = s;
  for (std::string_view suffix : {"iB", "B"})
    if (number.size() > suffix.size() && number.ends_with(suffix) &&
        std::isalpha(static_cast<unsigned char>(number[number.size() - suffix.size() - 1]))) {
      number.remove_suffix(suffix.size());
      break;
    }
  switch (std::toupper(static_cast<unsigned char>(number.back()))) {
    case 'K': unit = uint64_t{1} << 10; break;
    case 'M': unit = uint64_t{1} << 20; break;
    case 'G': unit = uint64_t{1} << 30; break;
    case 'T': unit = uint64_t{1} << 40; break;
    default: break;
  }
  if (unit == 0 && number.size() != s.size()) return bad();  // "12B" or a lone "iB"
  if (unit) number.remove_suffix(1);
  if (number.empty()) return bad();
  ExpertCacheBudget b;
  if (unit == 0) {
    int64_t slots = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), slots);
    if (ec != std::errc() || end != number.data() + number.size()) return bad();
    if (slots < 1) fail("--expert-cache {}: the cache needs at least one expert slot", text);
    b.slots = slots;
    return b;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value) || value <= 0 ||
      value > 1e6)
    return bad();
  b.bytes = static_cast<uint64_t>(value * static_cast<double>(unit));
  return b;
}

int64_t slots_for_budget(const ExpertCacheBudget& budget, uint64_t slot_bytes, int64_t total_experts) {
  int64_t slots = budget.slots;
  if (slots == 0) {
    slots = static_cast<int64_t>(budget.bytes / std::max<uint64_t>(slot_bytes, 1));
    if (slots < 1)
      fail("--expert-cache {} is smaller than one expert of this model ({:.1f} MiB per slot)", budget.describe(),
           slot_bytes / (1024.0 * 1024));
  }
  return std::min(slots, total_experts);
}

}  // namespace smoe

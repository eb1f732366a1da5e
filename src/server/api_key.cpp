// Constant-time API key comparison (see api_key.h).
#include "server/api_key.h"

#include <algorithm>
#include <cstdint>

namespace smoe::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Differences accumulate with OR over the longer length (reading the shorter one as zeros past
  // its end) and the lengths are part of the result, so no branch depends on the contents.
  const size_t n = std::max(a.size(), b.size());
  uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t x = i < a.size() ? static_cast<uint8_t>(a[i]) : 0;
    const uint8_t y = i < b.size() ? static_cast<uint8_t>(b[i]) : 0;
    diff |= static_cast<uint8_t>(x ^ y);
  }
  // volatile: the compiler may not turn the loop into an early-exit comparison.
  volatile uint8_t result = diff;
  return result == 0;
}

bool authorization_matches(std::string_view header_value, std::string_view api_key) {
  constexpr std::string_view kScheme = "Bearer ";
  // The scheme is not secret: checking it first leaks nothing about the key.
  if (header_value.substr(0, kScheme.size()) != kScheme) return false;
  return constant_time_equal(header_value.substr(kScheme.size()), api_key);
}

}  // namespace smoe::server

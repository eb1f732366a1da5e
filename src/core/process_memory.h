// Memory use of this process, for benchmarks.
#pragma once

#include <cstdint>

namespace smoe {

// Peak resident set size so far, in bytes.
uint64_t peak_rss_bytes();
// Current resident set size, in bytes (0 if unknown).
uint64_t current_rss_bytes();

}  // namespace smoe

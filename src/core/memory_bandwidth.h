// Measures the machine's memory read bandwidth the way a decode step uses it: several threads
// streaming through a buffer far larger than the caches. This is the roofline that decode speed
// is compared against.
#pragma once

#include <cstddef>

namespace smoe {

// Median GB/s (1e9 bytes/s) of `repetitions` passes over a buffer of `bytes`, read by `threads`.
double measure_read_bandwidth_gbps(size_t bytes, int threads, int repetitions = 5);

}  // namespace smoe

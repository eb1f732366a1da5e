// Read-bandwidth probe: each thread sums its share of a large buffer with wide independent
// accumulators, so the loads, not the additions, are the limit.
#include "core/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace smoe {
namespace {

// Sums 64-bit words 8 at a time; returned so the compiler cannot drop the loads.
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
  for (; i < n; ++i) acc[0] += p[i];
  uint64_t total = 0;
  for (uint64_t a : acc) total += a;
  return total;
}

}  // namespace

double measure_read_bandwidth_gbps(size_t bytes, int threads, int repetitions) {
  threads = std::max(1, threads);
  const size_t words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  // Touch every page (and give the words distinct values) before timing.
  for (size_t i = 0; i < words; ++i) buffer[i] = i;
  std::vector<double> gbps;
  volatile uint64_t sink = 0;
  for (int r = 0; r < repetitions; ++r) {
    std::vector<uint64_t> partial(threads);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t begin = words * t / threads, end = words * (t + 1) / threads;
        partial[t] = sum_words(buffer.get() + begin, end - begin);
      });
    }
    for (auto& th : pool) th.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (uint64_t p : partial) sink = sink + p;
    gbps.push_back(static_cast<double>(words * sizeof(uint64_t)) / seconds / 1e9);
  }
  std::sort(gbps.begin(), gbps.end());
  return gbps[gbps.size() / 2];
}

}  // namespace smoe

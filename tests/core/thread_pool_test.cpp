// Thread pool: every index is covered exactly once, ranges are contiguous, nested regions run
// inline, resizing works, and many back-to-back regions complete (no lost wake-ups).
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

namespace smoe {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 64, 1000, 12345}) {
      for (int64_t grain : {1, 4, 64}) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
          ASSERT_LE(b, e);
          if (e < n) {
            EXPECT_EQ(e % grain, 0);
          }
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      }
    }
  }
}

TEST(ThreadPool, ChunksCoverEveryIndexExactlyOnceInWholeChunks) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 5, 64, 1001}) {
      for (int64_t chunk : {0, 1, 7, 64, 5000}) {
        std::vector<std::atomic<int>> hits(n);
        std::mutex m;
        std::set<int> thread_ids;
        pool.parallel_chunks(n, chunk, [&](int thread, int64_t b, int64_t e) {
          ASSERT_LT(b, e);
          const int64_t c = chunk < 1 ? 1 : chunk;
          if (n > c) {  // dealt out: chunks start at multiples of the chunk size
            EXPECT_EQ(b % c, 0);
            EXPECT_TRUE(e - b == c || e == n);
          }
          {
            std::lock_guard<std::mutex> lock(m);
            thread_ids.insert(thread);
          }
          for (int64_t i = b; i < e; ++i) hits[i]++;
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " chunk=" << chunk << " i=" << i;
        for (int t : thread_ids) {
          EXPECT_GE(t, 0);
          EXPECT_LT(t, threads);
        }
      }
    }
  }
}

TEST(ThreadPool, ChunksGoToTheThreadsThatAreFree) {
  // One thread is held up on its first chunk; the others take the rest meanwhile.
  ThreadPool pool(2);
  std::atomic<int64_t> done_by_others{0};
  std::atomic<bool> release{false};
  pool.parallel_chunks(100, 1, [&](int thread, int64_t b, int64_t) {
    if (b == 0) {
      while (!release.load()) std::this_thread::yield();
      return;
    }
    if (++done_by_others == 99) release = true;
    (void)thread;
  });
  EXPECT_EQ(done_by_others.load(), 99);
}

TEST(ThreadPool, RunGivesEachThreadItsIndexAndNestedRegionsRunInline) {
  ThreadPool pool(4);
  std::mutex m;
  std::set<int> seen;
  std::atomic<int> inner_calls{0};
  pool.run([&](int t, int n) {
    EXPECT_EQ(n, 4);
    {
      std::lock_guard<std::mutex> lock(m);
      seen.insert(t);
    }
    pool.run([&](int it, int in) {
      EXPECT_EQ(it, 0);
      EXPECT_EQ(in, 1);
      inner_calls++;
    });
  });
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(inner_calls.load(), 4);
}

TEST(ThreadPool, ManyRegionsInARowAndResizing) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int r = 0; r < 20000; ++r) pool.parallel_for(8, 1, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 160000);
  pool.set_threads(3);
  EXPECT_EQ(pool.threads(), 3);
  total = 0;
  pool.parallel_for(300, 1, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 300);
  pool.set_threads(1);
  pool.parallel_for(5, 1, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 305);
}

}  // namespace
}  // namespace smoe

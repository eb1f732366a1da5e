// The engine's worker threads. A parallel region hands each thread one contiguous share of the
// work; the calling thread takes a share too. Between regions workers spin briefly (yielding
// the core, so an oversubscribed machine loses nothing) and then sleep on an atomic wait: no
// thread keeps a core busy between requests, unlike OpenMP's default active waiting, which made
// 2 threads 30x slower than 1 on a loaded 2-core machine.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace smoe {

class ThreadPool {
 public:
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The process-wide pool the kernels and the forward pass use.
  static ThreadPool& global();

  // Total threads taking part in a region, the caller included (at least 1).
  int threads() const { return n_threads_; }
  void set_threads(int threads);

  // Runs fn(thread, n_threads) once on each thread and returns when all are done. A region
  // started from inside a region runs on the calling thread alone.
  void run(const std::function<void(int thread, int n_threads)>& fn);

  // Splits [0, n) into one contiguous range per thread, in units of `grain`, and runs
  // fn(begin, end) on each non-empty range. Runs inline when n < 2 * grain or one thread.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

  // Deals [0, n) out in chunks of `chunk` from a shared counter: each thread runs
  // fn(thread, begin, end) on the next chunk until none is left, so a thread that runs slower
  // (a shared machine's steal time, interrupts) takes fewer chunks instead of making the others
  // wait at the end of the region. Runs inline when there is one chunk or one thread.
  void parallel_chunks(int64_t n, int64_t chunk, const std::function<void(int thread, int64_t begin, int64_t end)>& fn);

 private:
  void start_workers(int threads);
  void stop_workers();
  void worker_loop(int index, uint64_t seen);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<bool> busy_{false};  // a region is running (nested regions run inline)
};

}  // namespace smoe

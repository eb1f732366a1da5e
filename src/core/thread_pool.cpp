// Spin-then-sleep worker pool (see thread_pool.h).
#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace smoe {
namespace {

// How long an idle worker keeps checking for the next region before it sleeps. Regions of a
// decode step come every few tens of microseconds; between requests workers sleep.
constexpr auto kSpin = std::chrono::microseconds(200);

}  // namespace

ThreadPool::ThreadPool(int threads) { start_workers(threads); }

ThreadPool::~ThreadPool() { stop_workers(); }

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(1);
  return pool;
}

void ThreadPool::set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (threads == n_threads_) return;
  stop_workers();
  start_workers(threads);
}

void ThreadPool::start_workers(int threads) {
  n_threads_ = threads < 1 ? 1 : threads;
  stopping_ = false;
  // Workers start from the generation current now: a region begun before a worker thread first
  // runs must still be seen by it.
  const uint64_t start = generation_.load();
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i, start] { worker_loop(i, start); });
}

void ThreadPool::stop_workers() {
  stopping_ = true;
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  n_threads_ = 1;
}

void ThreadPool::worker_loop(int index, uint64_t seen) {
  while (true) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    uint64_t g;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      if (std::chrono::steady_clock::now() > spin_until) {
        generation_.wait(seen, std::memory_order_acquire);
      } else {
        std::this_thread::yield();
      }
    }
    seen = g;
    if (stopping_.load()) return;
    (*job_)(index, n_threads_);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  bool expected = false;
  if (n_threads_ == 1 || !busy_.compare_exchange_strong(expected, true)) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  fn(0, n_threads_);
  // Wait for the workers: spin briefly (they finish at about the same time), then sleep.
  const auto spin_until = std::chrono::steady_clock::now() + kSpin;
  int left;
  while ((left = pending_.load(std::memory_order_acquire)) != 0) {
    if (std::chrono::steady_clock::now() > spin_until)
      pending_.wait(left, std::memory_order_acquire);
    else
      std::this_thread::yield();
  }
  job_ = nullptr;
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (grain < 1) grain = 1;
  if (n <= 0) return;
  if (n_threads_ == 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  const int64_t units = (n + grain - 1) / grain;
  run([&](int thread, int n_threads) {
    const int64_t begin = units * thread / n_threads * grain;
    const int64_t end = std::min(n, units * (thread + 1) / n_threads * grain);
    if (begin < end) fn(begin, end);
  });
}

void ThreadPool::parallel_chunks(int64_t n, int64_t chunk,
                                 const std::function<void(int thread, int64_t begin, int64_t end)>& fn) {
  if (chunk < 1) chunk = 1;
  if (n <= 0) return;
  if (n_threads_ == 1 || n <= chunk) {
    fn(0, 0, n);
    return;
  }
  std::atomic<int64_t> next{0};
  run([&](int thread, int) {
    for (int64_t begin; (begin = next.fetch_add(chunk, std::memory_order_relaxed)) < n;)
      fn(thread, begin, std::min(n, begin + chunk));
  });
}

}  // namespace smoe

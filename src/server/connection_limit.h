// --max-connections: the handler threads of cpp-httplib, with a bound on the connections served at
// once. httplib hands every accepted connection to its task queue, whose stock thread pool queues
// without limit: connections beyond the threads would wait, unanswered, for as long as the ones
// being served last. This queue serves up to `max_connections` at once (one thread each) and hands
// any connection beyond that to two refusing threads, whose requests are answered 503 with
// Retry-After at once (refusing_connection() tells the pre-routing handler so).
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>

namespace smoe::server {

class ConnectionLimit : public httplib::TaskQueue {
 public:
  explicit ConnectionLimit(int max_connections);

  void enqueue(std::function<void()> serve_connection) override;
  void shutdown() override;

 private:
  const int max_;
  std::atomic<int> served_{0};  // connections being served (never more than max_)
  httplib::ThreadPool serving_;
  httplib::ThreadPool refusing_;
};

// True in a thread that is answering a connection over the limit.
bool refusing_connection();

}  // namespace smoe::server

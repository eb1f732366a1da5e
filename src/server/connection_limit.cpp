// The connection-limiting task queue of the HTTP server (see connection_limit.h).
#include "server/connection_limit.h"

namespace smoe::server {
namespace {

// Set only in the refusing threads, which do nothing else.
thread_local bool t_refusing = false;

// Enough for refusals to keep up (each is one read and one short write), few enough that a flood
// of connections costs no more threads.
constexpr int kRefusingThreads = 2;

}  // namespace

ConnectionLimit::ConnectionLimit(int max_connections)
    : max_(max_connections), serving_(static_cast<size_t>(max_connections)), refusing_(kRefusingThreads) {}

void ConnectionLimit::enqueue(std::function<void()> serve_connection) {
  if (served_.fetch_add(1) < max_) {
    serving_.enqueue([this, serve = std::move(serve_connection)] {
      serve();
      served_.fetch_sub(1);
    });
    return;
  }
  served_.fetch_sub(1);
  refusing_.enqueue([serve = std::move(serve_connection)] {
    t_refusing = true;
    serve();
  });
}

void ConnectionLimit::shutdown() {
  serving_.shutdown();
  refusing_.shutdown();
}

bool refusing_connection() { return t_refusing; }

}  // namespace smoe::server

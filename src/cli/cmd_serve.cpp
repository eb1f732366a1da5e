// `smoe serve`: the OpenAI-compatible HTTP server with continuous batching (src/server/).
// SIGINT and SIGTERM are taken by one thread that drains the running and queued requests, then
// stops the HTTP server, so the process exits cleanly with every accepted request answered.
#include "cli/commands.h"
#include "core/error.h"
#include "model/model.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/scheduler.h"

#include <malloc.h>
#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

namespace smoe::cli {
namespace {
constexpr int kMallocArenas = 2;
}  // namespace

Command add_serve_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    server::HttpOptions http;
    server::SchedulerOptions scheduler;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  o->compute.add_to(*sub);
  sub->add_option("--host", o->http.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", o->http.port, "Port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sub->add_option("--parallel", o->scheduler.parallel, "Requests decoded together in one batch")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_option("--max-queue", o->scheduler.max_queue, "Requests that may wait for a slot; more get 503")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  sub->add_option("--prefill-chunk", o->scheduler.prefill_chunk, "Prompt tokens computed per step")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  sub->add_option("--api-key", o->http.api_key, "Require 'Authorization: Bearer KEY' on the API");
  sub->add_option("--max-body", o->http.max_body_bytes, "Largest request body in bytes; larger get 413")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  sub->add_option("--max-connections", o->http.max_connections,
                  "Connections served at once; more get 503 with Retry-After (0: --parallel + --max-queue + 4)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  sub->footer(
      "Limits: a prompt must leave room in the context (--ctx, default the model's) or it gets 400\n"
      "context_length_exceeded; max_tokens is clamped to the room left. Bodies over --max-body get 413,\n"
      "requests beyond --parallel slots and --max-queue places 503, connections beyond --max-connections 503.\n"
      "The server listens on 127.0.0.1 unless --host says otherwise; see SECURITY.md.");

  return {sub, [o]() {
            // Every thread inherits this mask: only the waiting thread below receives the signals.
            sigset_t signals;
            sigemptyset(&signals);
            sigaddset(&signals, SIGINT);
            sigaddset(&signals, SIGTERM);
            sigaddset(&signals, SIGUSR1);  // internal: wakes the signal thread when it should end
            pthread_sigmask(SIG_BLOCK, &signals, nullptr);
            std::signal(SIGPIPE, SIG_IGN);  // a client that hung up is a failed write, not a dead server
            // glibc gives threads their own malloc arenas, up to 8 per core: with one handler thread per
            // connection (72 by default) the resident memory kept growing for as long as new threads
            // first allocated (+13% in the first 20 s of bench/soak.mjs, +9% over 10 minutes). Handler
            // threads allocate little (JSON), so two arenas cost nothing and keep the footprint flat.
            mallopt(M_ARENA_MAX, kMallocArenas);

            auto model = o->compute.load_model();  // with the expert cache when --expert-cache is given
            o->scheduler.ctx = o->compute.ctx;
            server::Metrics metrics;
            server::Scheduler scheduler(*model, o->scheduler, metrics);
            server::HttpServer http(*model, scheduler, metrics, o->http);
            const int port = http.bind();
            scheduler.start();

            // The first signal drains (in its own thread, so that a second signal can still be heard);
            // a second one exits at once without waiting for the requests in flight.
            std::thread drainer;
            std::thread signal_waiter([&] {
              int received = 0;
              sigwait(&signals, &received);
              if (received != SIGINT && received != SIGTERM) return http.stop();  // woken to end
              std::fprintf(stderr, "smoe serve: %s, finishing the requests in flight (again to quit now)\n",
                           received == SIGINT ? "interrupted" : "terminated");
              const pthread_t self = pthread_self();
              drainer = std::thread([&, self] {
                scheduler.drain();
                http.stop();
                pthread_kill(self, SIGUSR1);  // the drain is over: stop waiting for a second signal
              });
              sigwait(&signals, &received);
              if (received != SIGUSR1) {
                std::fprintf(stderr, "smoe serve: quitting without finishing the requests in flight\n");
                std::_Exit(130);
              }
            });
            std::printf("smoe serve: model %s, %d slots of %lld tokens, listening on http://%s:%d\n",
                        http.model_id().c_str(), o->scheduler.parallel, static_cast<long long>(scheduler.n_ctx()),
                        o->http.host.c_str(), port);
            std::fflush(stdout);
            const bool ok = http.listen();
            if (!ok) pthread_kill(signal_waiter.native_handle(), SIGUSR1);
            signal_waiter.join();
            if (drainer.joinable()) drainer.join();
            if (!ok) fail("the HTTP server stopped with an error");
            std::fprintf(stderr, "smoe serve: stopped\n");
            return 0;
          }};
}

}  // namespace smoe::cli

// The HTTP front end (cpp-httplib): routes, API-key check, OpenAI error objects, and the bridge
// from a request's handler thread to the scheduler (submit a job, then wait on its channel and
// write the answer, whole or as server-sent events).
#pragma once

#include "model/model.h"
#include "server/completion_request.h"
#include "server/metrics.h"
#include "server/openai_response.h"
#include "server/scheduler.h"

#include <cstddef>
#include <memory>
#include <string>

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace smoe::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port (bind() returns it)
  std::string api_key;                    // empty: no authentication
  size_t max_body_bytes = size_t{1} << 20;  // larger request bodies get 413
  // Connections served at once, one handler thread each; more get 503 with Retry-After.
  // 0: --parallel + --max-queue + 4 (every slot and queue place, plus a few for /health and /metrics).
  int max_connections = 0;
};

// The connection limit in force for these options.
int effective_max_connections(const HttpOptions& options, int parallel, int max_queue);

class HttpServer {
 public:
  HttpServer(const Model& model, Scheduler& scheduler, Metrics& metrics, HttpOptions options);
  ~HttpServer();

  // Binds the listening socket; returns the port. Throws smoe::Error when it cannot.
  int bind();
  // Serves until stop(); returns false if the server failed.
  bool listen();
  void stop();
  // The id GET /v1/models lists (the model's file or directory name).
  const std::string& model_id() const { return model_id_; }

 private:
  const Model& model_;
  Scheduler& scheduler_;
  Metrics& metrics_;
  HttpOptions options_;
  std::string model_id_;
  std::unique_ptr<httplib::Server> http_;

  void add_routes();
  void handle_completion(Endpoint endpoint, const httplib::Request& req, httplib::Response& res);
  void whole_completion(const ResponseMeta& meta, const std::shared_ptr<GenerationJob>& job, httplib::Response& res);
  void stream_completion(const ResponseMeta& meta, const std::shared_ptr<GenerationJob>& job, bool include_usage,
                         httplib::Response& res);
};

// The name a model is served under: its file name without .gguf, or its directory name.
std::string served_model_id(const std::string& model_path);

}  // namespace smoe::server

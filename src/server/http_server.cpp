// Routes of the OpenAI-compatible API and the chat page.
#include "server/http_server.h"

#include "core/error.h"
#include "server/api_error.h"
#include "server/api_key.h"
#include "server/chat_page.h"
#include "server/completion_request.h"
#include "server/connection_limit.h"
#include "server/openai_response.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

namespace smoe::server {
namespace {

using nlohmann::json;

// How long a handler waits for the next token before probing its connection (a queued request
// or a long prompt produces nothing for a while).
constexpr auto kProbeInterval = std::chrono::seconds(1);

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(wire_text(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  send_json(res, e.status(), error_body(e));
  if (e.status() == 503) res.set_header("Retry-After", "1");
}

const char* endpoint_name(Endpoint e) { return e == Endpoint::ChatCompletions ? "chat_completions" : "completions"; }

bool write_event(httplib::DataSink& sink, const std::string& text) { return sink.write(text.data(), text.size()); }
bool write_data(httplib::DataSink& sink, const json& value) {
  return write_event(sink, "data: " + wire_text(value) + "\n\n");
}

}  // namespace

std::string served_model_id(const std::string& model_path) {
  std::filesystem::path p(model_path);
  if (!p.has_filename()) p = p.parent_path();
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

int effective_max_connections(const HttpOptions& options, int parallel, int max_queue) {
  // A streaming request holds its handler thread until it ends: by default enough threads for
  // every slot and every queued request, plus a few for health checks and metrics while all are busy.
  return options.max_connections > 0 ? options.max_connections : parallel + max_queue + 4;
}

HttpServer::HttpServer(const Model& model, Scheduler& scheduler, Metrics& metrics, HttpOptions options)
    : model_(model),
      scheduler_(scheduler),
      metrics_(metrics),
      options_(std::move(options)),
      model_id_(served_model_id(model.path())),
      http_(std::make_unique<httplib::Server>()) {
  const int max_connections = effective_max_connections(options_, scheduler.parallel(), scheduler.max_queue());
  http_->new_task_queue = [max_connections] { return new ConnectionLimit(max_connections); };
  http_->set_payload_max_length(options_.max_body_bytes);
  // Idle keep-alive connections hold a handler thread and delay shutdown by this much.
  http_->set_keep_alive_timeout(2);
  add_routes();
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  int port = options_.port;
  if (port == 0)
    port = http_->bind_to_any_port(options_.host);
  else if (!http_->bind_to_port(options_.host, port))
    port = -1;
  if (port < 0) fail("cannot listen on {}:{} (in use, or not a local address?)", options_.host, options_.port);
  return port;
}

bool HttpServer::listen() { return http_->listen_after_bind(); }
void HttpServer::stop() { http_->stop(); }

void HttpServer::add_routes() {
  httplib::Server& http = *http_;

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // A connection over --max-connections: every request on it is refused, and the client is asked
    // to close it so that it comes back through the limit.
    if (refusing_connection()) {
      send_error(res, ApiError(503,
                               fmt::format("too many connections (--max-connections {}); retry later",
                                           effective_max_connections(options_, scheduler_.parallel(),
                                                                     scheduler_.max_queue())),
                               "server_error", "", "too_many_connections"));
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    // With --api-key, everything but the page and the health check needs "Authorization: Bearer KEY".
    if (options_.api_key.empty() || req.path == "/" || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (authorization_matches(req.get_header_value("Authorization"), options_.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "invalid or missing API key (send Authorization: Bearer KEY)", "invalid_request_error",
                             "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib produces itself (unknown route, body too large) get an OpenAI error body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = fmt::format("{} {}: HTTP {}", req.method, req.path, res.status);
    if (res.status == 404) message = fmt::format("no route for {} {}", req.method, req.path);
    if (res.status == 413) message = "the request body is too large";
    const int status = res.status;
    send_json(res, status, error_body(ApiError(status, message, "invalid_request_error")));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string message = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    send_json(res, 500, error_body(ApiError(500, message, "server_error")));
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(chat_page_html()), "text/html; charset=utf-8");
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"status", "ok"}}); });
  auto model_object = [this] {
    return json{{"id", model_id_}, {"object", "model"}, {"created", 0}, {"owned_by", "smoe"},
                {"context_length", scheduler_.n_ctx()}};
  };
  http.Get("/v1/models", [model_object](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"}, {"data", json::array({model_object()})}});
  });
  http.Get(R"(/v1/models/(.+))", [this, model_object](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] == model_id_) return send_json(res, 200, model_object());
    send_error(res, ApiError(404, fmt::format("the model '{}' does not exist", req.matches[1].str()),
                             "invalid_request_error", "model", "model_not_found"));
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::optional<ExpertCacheStats> cache;
    if (const ExpertSource* source = model_.expert_source()) cache = source->stats();
    res.set_content(metrics_.render(scheduler_.queue_length(), scheduler_.active(), scheduler_.parallel(),
                                    cache ? &*cache : nullptr),
                    "text/plain; version=0.0.4");
  });

  for (Endpoint endpoint : {Endpoint::ChatCompletions, Endpoint::Completions}) {
    const char* path = endpoint == Endpoint::ChatCompletions ? "/v1/chat/completions" : "/v1/completions";
    http.Post(path, [this, endpoint](const httplib::Request& req, httplib::Response& res) {
      try {
        handle_completion(endpoint, req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      }
      // A stream's status is set by httplib after the handler returns: it is 200.
      metrics_.count_request(endpoint_name(endpoint), res.status > 0 ? res.status : 200);
    });
  }
}

void HttpServer::handle_completion(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
  const CompletionRequest request = parse_completion_request(endpoint, req.body);
  if (!request.model.empty() && request.model != model_id_)
    throw ApiError(404, fmt::format("the model '{}' does not exist (this server has '{}')", request.model, model_id_),
                   "invalid_request_error", "model", "model_not_found");
  const Tokenizer& tokenizer = model_.tokenizer();
  auto job = std::make_shared<GenerationJob>();
  job->prompt = prompt_tokens(request, tokenizer);
  job->max_tokens = completion_budget(request, static_cast<int64_t>(job->prompt.size()), scheduler_.n_ctx());
  job->sampling = request.sampling;
  job->presence_penalty = request.presence_penalty;
  job->frequency_penalty = request.frequency_penalty;
  job->stop = request.stop;
  job->logprobs = request.logprobs;
  job->top_logprobs = request.top_logprobs;
  job->routing = request.routing;

  switch (scheduler_.submit(job)) {
    case Admission::Accepted: break;
    case Admission::QueueFull:
      throw ApiError(503, "the server is busy (every slot and queue place is taken); retry later", "server_error", "",
                     "queue_full");
    case Admission::ShuttingDown:
      throw ApiError(503, "the server is shutting down", "server_error", "", "shutting_down");
  }
  const ResponseMeta meta = new_response_meta(endpoint, model_id_);
  if (request.stream)
    stream_completion(meta, job, request.stream_include_usage, res);
  else
    whole_completion(meta, job, res);
}

void HttpServer::whole_completion(const ResponseMeta& meta, const std::shared_ptr<GenerationJob>& job,
                                  httplib::Response& res) {
  LogprobsBuilder logprobs(meta.endpoint, model_.tokenizer());
  std::string text;
  for (;;) {
    std::optional<JobEvent> e = job->channel.pop(kProbeInterval);
    if (!e) continue;
    if (e->final) {
      if (!e->error.empty()) throw ApiError(500, e->error, "server_error");
      const json lp = job->logprobs ? logprobs.to_json() : json(nullptr);
      return send_json(res, 200, completion_json(meta, text, e->finish_reason, lp, e->prompt_tokens, e->completion_tokens));
    }
    if (e->token >= 0 && job->logprobs) logprobs.add(*e, text.size());
    text += e->text;
  }
}

void HttpServer::stream_completion(const ResponseMeta& meta, const std::shared_ptr<GenerationJob>& job,
                                   bool include_usage, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  auto logprobs = std::make_shared<LogprobsBuilder>(meta.endpoint, model_.tokenizer());
  res.set_chunked_content_provider(
      "text/event-stream",
      [meta, job, include_usage, logprobs, first = true, offset = size_t{0}](size_t, httplib::DataSink& sink) mutable {
        for (;;) {
          std::optional<JobEvent> e = job->channel.pop(kProbeInterval);
          if (!e) {
            // Nothing to send yet: an SSE comment (ignored by clients) finds out whether the client is still
            // there, so a queued request whose client left gives its place up.
            if (!write_event(sink, ": waiting\n\n")) return false;
            continue;
          }
          if (e->final) {
            if (!e->error.empty()) {
              write_data(sink, error_body(ApiError(500, e->error, "server_error")));
            } else {
              write_data(sink, stream_chunk_json(meta, "", e->finish_reason, nullptr, first));
              if (include_usage) write_data(sink, stream_usage_chunk_json(meta, e->prompt_tokens, e->completion_tokens));
            }
            write_event(sink, "data: [DONE]\n\n");
            sink.done();
            return true;
          }
          json lp = nullptr;
          if (e->token >= 0 && job->logprobs) {
            logprobs->clear();
            logprobs->add(*e, offset);
            lp = logprobs->to_json();
          }
          offset += e->text.size();
          if (e->text.empty() && lp.is_null() && e->routing.empty()) continue;
          json chunk = stream_chunk_json(meta, e->text, "", lp, first);
          first = false;
          if (!e->routing.empty()) chunk["smoe"] = {{"token", e->token}, {"routing", e->routing}};
          if (!write_data(sink, chunk)) return false;
        }
      },
      // Called when the stream ends either way: a client that left frees its slot at the next step.
      [job](bool) { job->channel.cancel(); });
}

}  // namespace smoe::server

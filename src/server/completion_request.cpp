// Field-by-field reading of OpenAI completion requests.
#include "server/completion_request.h"

#include "core/error.h"
#include "server/api_error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

namespace smoe::server {
namespace {

using nlohmann::json;

const char* type_name(const json& v) { return v.type_name(); }

// Absent and null both mean "use the default", as OpenAI treats them.
bool present(const json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

double number_field(const json& body, const char* key, double lo, double hi) {
  const json& v = body[key];
  if (!v.is_number()) bad_request(key, fmt::format("'{}' must be a number, not {}", key, type_name(v)));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_request(key, fmt::format("'{}' must be between {} and {} (got {})", key, lo, hi, x));
  return x;
}

int64_t integer_field(const json& body, const char* key, int64_t lo, int64_t hi) {
  const json& v = body[key];
  if (!v.is_number_integer()) bad_request(key, fmt::format("'{}' must be an integer, not {}", key, type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi))
    bad_request(key, fmt::format("'{}' must be between {} and {}", key, lo, hi));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad_request(key, fmt::format("'{}' must be between {} and {} (got {})", key, lo, hi, x));
  return x;
}

bool bool_field(const json& body, const char* key) {
  const json& v = body[key];
  if (!v.is_boolean()) bad_request(key, fmt::format("'{}' must be a boolean, not {}", key, type_name(v)));
  return v.get<bool>();
}

std::vector<std::string> read_stop(const json& v) {
  std::vector<std::string> stops;
  if (v.is_string()) {
    stops.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const json& s : v) {
      if (!s.is_string()) bad_request("stop", "'stop' must be a string or a list of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    bad_request("stop", fmt::format("'stop' must be a string or a list of strings, not {}", type_name(v)));
  }
  if (stops.size() > kMaxStopStrings) bad_request("stop", fmt::format("at most {} stop strings are allowed", kMaxStopStrings));
  for (const auto& s : stops)
    if (s.empty()) bad_request("stop", "stop strings must not be empty");
  return stops;
}

// OpenAI's prompt forms: "text", ["text"], [ids] and [[ids]], one prompt per request. Read
// without recursion: a body of nested lists must not be able to exhaust the stack.
void read_prompt(const json& v, CompletionRequest& r) {
  const json* prompt = &v;
  if (v.is_array() && !v.empty() && (v[0].is_string() || v[0].is_array())) {
    if (v.size() != 1) bad_request("prompt", "only one prompt per request is supported (got a list of several)");
    prompt = &v[0];
  }
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
    return;
  }
  if (prompt->is_array() && !prompt->empty()) {
    for (const json& id : *prompt) {
      if (!id.is_number_integer()) bad_request("prompt", "'prompt' must be a string, or a list of token ids");
      const int64_t x = id.get<int64_t>();
      if (x < 0 || x > INT32_MAX) bad_request("prompt", fmt::format("token id {} is out of range", x));
      r.prompt_ids.push_back(static_cast<int32_t>(x));
    }
    r.prompt_is_ids = true;
    return;
  }
  bad_request("prompt", "'prompt' must be a non-empty string or list of token ids");
}

}  // namespace

CompletionRequest parse_completion_request(Endpoint endpoint, const std::string& body_text) {
  json body;
  try {
    body = json::parse(body_text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    bad_request("", fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!body.is_object()) bad_request("", "the request body must be a JSON object");

  CompletionRequest r;
  r.endpoint = endpoint;
  const bool chat = endpoint == Endpoint::ChatCompletions;
  // Optional, as llama.cpp's and vLLM's servers take it: absent means the model being served.
  if (present(body, "model")) {
    if (!body["model"].is_string()) bad_request("model", "'model' must be a string");
    r.model = body["model"].get<std::string>();
  }

  if (chat) {
    if (!present(body, "messages")) bad_request("messages", "'messages' is required");
    try {
      r.messages = parse_chat_messages(body["messages"]);
      validate_chat(r.messages);
    } catch (const Error& e) {
      bad_request("messages", e.what());
    }
    if (r.messages.back().role != ChatRole::User)
      bad_request("messages", "the last message must be from the user (the model answers it)");
  } else {
    if (!present(body, "prompt")) bad_request("prompt", "'prompt' is required");
    read_prompt(body["prompt"], r);
  }

  const char* max_key = chat && present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (present(body, max_key)) r.max_tokens = integer_field(body, max_key, 1, int64_t{1} << 40);
  if (present(body, "n") && integer_field(body, "n", 1, 128) != 1) bad_request("n", "only n=1 is supported");
  if (present(body, "best_of") && integer_field(body, "best_of", 1, 128) != 1)
    bad_request("best_of", "only best_of=1 is supported");
  if (present(body, "echo") && bool_field(body, "echo")) bad_request("echo", "echo is not supported");
  if (present(body, "suffix")) bad_request("suffix", "suffix (insertion) is not supported");
  if (present(body, "tools") || present(body, "functions")) bad_request("tools", "tool calls are not supported");

  // OpenAI's defaults: plain sampling from the model's distribution.
  SamplerParams& s = r.sampling;
  s.temperature = 1.0f;
  s.top_k = 0;
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  if (present(body, "temperature")) s.temperature = static_cast<float>(number_field(body, "temperature", 0, 2));
  if (present(body, "top_p")) s.top_p = static_cast<float>(number_field(body, "top_p", 0, 1));
  if (s.top_p <= 0) bad_request("top_p", "'top_p' must be greater than 0");
  if (present(body, "top_k")) s.top_k = static_cast<int32_t>(integer_field(body, "top_k", 0, INT32_MAX));
  if (present(body, "min_p")) s.min_p = static_cast<float>(number_field(body, "min_p", 0, 1));
  if (present(body, "repeat_penalty")) s.repeat_penalty = static_cast<float>(number_field(body, "repeat_penalty", 0.01, 10));
  if (present(body, "presence_penalty")) r.presence_penalty = static_cast<float>(number_field(body, "presence_penalty", -2, 2));
  if (present(body, "frequency_penalty"))
    r.frequency_penalty = static_cast<float>(number_field(body, "frequency_penalty", -2, 2));
  if (present(body, "seed")) {
    s.seed = static_cast<uint64_t>(integer_field(body, "seed", INT64_MIN, INT64_MAX));
    r.seed_given = true;
  } else {
    s.seed = std::random_device{}() | (static_cast<uint64_t>(std::random_device{}()) << 32);
  }
  if (present(body, "stop")) r.stop = read_stop(body["stop"]);
  if (present(body, "stream")) r.stream = bool_field(body, "stream");
  if (present(body, "stream_options")) {
    const json& o = body["stream_options"];
    if (!o.is_object()) bad_request("stream_options", "'stream_options' must be an object");
    if (!r.stream) bad_request("stream_options", "'stream_options' is only allowed with stream: true");
    if (o.contains("include_usage")) {
      if (!o["include_usage"].is_boolean()) bad_request("stream_options", "'include_usage' must be a boolean");
      r.stream_include_usage = o["include_usage"].get<bool>();
    }
  }
  if (chat) {
    if (present(body, "logprobs")) r.logprobs = bool_field(body, "logprobs");
    if (present(body, "top_logprobs")) {
      r.top_logprobs = static_cast<int32_t>(integer_field(body, "top_logprobs", 0, kMaxTopLogprobsChat));
      if (!r.logprobs) bad_request("top_logprobs", "'top_logprobs' requires logprobs: true");
    }
  } else if (present(body, "logprobs")) {
    r.logprobs = true;
    r.top_logprobs = static_cast<int32_t>(integer_field(body, "logprobs", 0, kMaxLogprobsCompletions));
  }
  if (present(body, "smoe_routing")) r.routing = bool_field(body, "smoe_routing");
  return r;
}

std::vector<int32_t> prompt_tokens(const CompletionRequest& request, const Tokenizer& tokenizer) {
  if (request.endpoint == Endpoint::ChatCompletions) return chat_prompt_tokens(tokenizer, request.messages);
  if (request.prompt_is_ids) {
    for (int32_t id : request.prompt_ids)
      if (!tokenizer.is_valid(id))
        bad_request("prompt", fmt::format("token id {} is outside the vocabulary (0..{})", id, tokenizer.vocab().size() - 1));
    return request.prompt_ids;
  }
  std::vector<int32_t> ids = tokenizer.encode(request.prompt_text, tokenizer.vocab().add_bos);
  if (ids.empty()) bad_request("prompt", "the prompt is empty");
  return ids;
}

int64_t completion_budget(const CompletionRequest& request, int64_t n_prompt, int64_t n_ctx) {
  if (n_prompt >= n_ctx)
    bad_request(request.endpoint == Endpoint::ChatCompletions ? "messages" : "prompt",
                fmt::format("the prompt has {} tokens, but the context holds {} (prompt and completion together)",
                            n_prompt, n_ctx),
                "context_length_exceeded");
  const int64_t room = n_ctx - n_prompt;
  const int64_t wanted = request.max_tokens.value_or(request.endpoint == Endpoint::Completions ? 16 : room);
  return std::min(wanted, room);
}

}  // namespace smoe::server

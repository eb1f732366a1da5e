// Building OpenAI response objects.
#include "server/openai_response.h"

#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace smoe::server {

using nlohmann::json;

ResponseMeta new_response_meta(Endpoint endpoint, const std::string& model) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot = std::random_device{}();
  ResponseMeta m;
  m.endpoint = endpoint;
  m.id = fmt::format("{}-{:08x}{:06x}", endpoint == Endpoint::ChatCompletions ? "chatcmpl" : "cmpl", boot & 0xffffffff,
                     counter.fetch_add(1));
  m.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  m.model = model;
  return m;
}

namespace {
json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(c);
  return b;
}
}  // namespace

void LogprobsBuilder::add(const JobEvent& e, size_t text_offset) {
  const std::string piece = tokenizer_.token_bytes(e.token, false);
  if (endpoint_ == Endpoint::ChatCompletions) {
    json top = json::array();
    for (const TokenLogprob& t : e.top) {
      const std::string p = tokenizer_.token_bytes(t.token, false);
      top.push_back({{"token", p}, {"logprob", t.logprob}, {"bytes", bytes_of(p)}});
    }
    content_.push_back({{"token", piece}, {"logprob", e.chosen.logprob}, {"bytes", bytes_of(piece)}, {"top_logprobs", top}});
  } else {
    tokens_.push_back(piece);
    token_logprobs_.push_back(e.chosen.logprob);
    json top = json::object();
    for (const TokenLogprob& t : e.top) top[tokenizer_.token_bytes(t.token, false)] = t.logprob;
    top_.push_back(top);
    offsets_.push_back(text_offset);
  }
}

json LogprobsBuilder::to_json() const {
  if (endpoint_ == Endpoint::ChatCompletions) return {{"content", content_}};
  return {{"tokens", tokens_}, {"token_logprobs", token_logprobs_}, {"top_logprobs", top_}, {"text_offset", offsets_}};
}

void LogprobsBuilder::clear() {
  content_ = tokens_ = token_logprobs_ = top_ = offsets_ = nlohmann::json::array();
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

namespace {
json envelope(const ResponseMeta& meta, bool chunk) {
  const bool chat = meta.endpoint == Endpoint::ChatCompletions;
  return {{"id", meta.id},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", nullptr}};
}
json reason_or_null(const std::string& reason) { return reason.empty() ? json(nullptr) : json(reason); }
}  // namespace

json completion_json(const ResponseMeta& meta, const std::string& text, const std::string& finish_reason,
                     const json& logprobs, int64_t prompt_tokens, int64_t completion_tokens) {
  json r = envelope(meta, false);
  json choice = {{"index", 0}, {"finish_reason", reason_or_null(finish_reason)}, {"logprobs", logprobs}};
  if (meta.endpoint == Endpoint::ChatCompletions)
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  else
    choice["text"] = text;
  r["choices"] = json::array({choice});
  r["usage"] = usage_json(prompt_tokens, completion_tokens);
  return r;
}

json stream_chunk_json(const ResponseMeta& meta, const std::string& text, const std::string& finish_reason,
                       const json& logprobs, bool first) {
  json r = envelope(meta, true);
  json choice = {{"index", 0}, {"finish_reason", reason_or_null(finish_reason)}, {"logprobs", logprobs}};
  if (meta.endpoint == Endpoint::ChatCompletions) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  r["choices"] = json::array({choice});
  return r;
}

json stream_usage_chunk_json(const ResponseMeta& meta, int64_t prompt_tokens, int64_t completion_tokens) {
  json r = envelope(meta, true);
  r["choices"] = json::array();
  r["usage"] = usage_json(prompt_tokens, completion_tokens);
  return r;
}

std::string wire_text(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace smoe::server

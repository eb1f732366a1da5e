// OpenAI-shaped response objects: a whole completion ("chat.completion" / "text_completion"),
// stream chunks ("chat.completion.chunk" / "text_completion"), usage and logprobs in the shape
// each endpoint uses.
#pragma once

#include "server/completion_request.h"
#include "server/generation_job.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace smoe::server {

struct ResponseMeta {
  Endpoint endpoint = Endpoint::Completions;
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

ResponseMeta new_response_meta(Endpoint endpoint, const std::string& model);

// Logprobs of generated tokens, in the endpoint's shape: for chat
// {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}, for completions
// {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}.
class LogprobsBuilder {
 public:
  LogprobsBuilder(Endpoint endpoint, const Tokenizer& tokenizer) : endpoint_(endpoint), tokenizer_(tokenizer) {}
  // text_offset: where the token's text starts in the completion (completions only).
  void add(const JobEvent& token_event, size_t text_offset);
  nlohmann::json to_json() const;
  void clear();

 private:
  Endpoint endpoint_;
  const Tokenizer& tokenizer_;
  nlohmann::json content_ = nlohmann::json::array();  // chat
  nlohmann::json tokens_ = nlohmann::json::array(), token_logprobs_ = nlohmann::json::array(),
                 top_ = nlohmann::json::array(), offsets_ = nlohmann::json::array();  // completions
};

nlohmann::json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

// The whole answer of a non-streaming request.
nlohmann::json completion_json(const ResponseMeta& meta, const std::string& text, const std::string& finish_reason,
                               const nlohmann::json& logprobs, int64_t prompt_tokens, int64_t completion_tokens);

// One stream chunk: text (chat: as delta.content; the first chat chunk also carries the role),
// finish_reason null unless given, logprobs null unless given.
nlohmann::json stream_chunk_json(const ResponseMeta& meta, const std::string& text, const std::string& finish_reason,
                                 const nlohmann::json& logprobs, bool first);
// The last chunk when stream_options.include_usage is set: no choices, only usage.
nlohmann::json stream_usage_chunk_json(const ResponseMeta& meta, int64_t prompt_tokens, int64_t completion_tokens);

// JSON text for the wire. Token pieces can be partial UTF-8 (byte tokens), replaced by U+FFFD.
std::string wire_text(const nlohmann::json& value);

}  // namespace smoe::server

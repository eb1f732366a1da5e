// An OpenAI chat or text completion request, read from its JSON body and checked field by field:
// every wrong type, out-of-range value or unsupported option is a 400 naming the field, before
// any work is queued.
#pragma once

#include "runtime/chat_format.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smoe::server {

enum class Endpoint { ChatCompletions, Completions };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model;  // empty: not given (the served model)
  std::vector<ChatMessage> messages;  // chat: the conversation
  std::string prompt_text;            // completions: text (BOS is added) ...
  std::vector<int32_t> prompt_ids;    // ... or token ids given as they are
  bool prompt_is_ids = false;
  std::optional<int64_t> max_tokens;  // absent: 16 for completions, the rest of the context for chat
  SamplerParams sampling;             // OpenAI defaults: temperature 1, no top-k/top-p/min-p cut
  bool seed_given = false;
  float presence_penalty = 0;         // OpenAI's: logit -= presence * (count > 0) + frequency * count
  float frequency_penalty = 0;        //   over the tokens generated so far
  std::vector<std::string> stop;
  bool stream = false;
  bool stream_include_usage = false;  // stream_options.include_usage: a last chunk with usage
  bool logprobs = false;              // chat: logprobs=true; completions: logprobs=N (N >= 0)
  int32_t top_logprobs = 0;
  bool routing = false;               // smoe extension: experts per layer of each generated token
};

// Limits of the API (documented in the README).
inline constexpr int kMaxStopStrings = 4;
inline constexpr int kMaxTopLogprobsChat = 20;
inline constexpr int kMaxLogprobsCompletions = 5;

// Parses and validates a request body; throws ApiError (400) on anything wrong.
CompletionRequest parse_completion_request(Endpoint endpoint, const std::string& body);

// The prompt as token ids: the Mixtral Instruct conversation for chat, BOS + text for
// completions, or the ids given (checked against the vocabulary). Throws ApiError (400).
std::vector<int32_t> prompt_tokens(const CompletionRequest& request, const Tokenizer& tokenizer);

// How many tokens may be generated after a prompt of n_prompt tokens in a context of n_ctx:
// the request's max_tokens (or the endpoint's default) clamped to what the context holds.
// Throws ApiError (400, context_length_exceeded) when the prompt leaves no room.
int64_t completion_budget(const CompletionRequest& request, int64_t n_prompt, int64_t n_ctx);

}  // namespace smoe::server

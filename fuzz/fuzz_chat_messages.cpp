// Fuzz target: OpenAI-style chat messages (the JSON value of "messages"), through both ways the
// project reads them: parse_chat_messages + chat_prompt_tokens (runtime/chat_format), and a chat
// completion request body carrying them (server/completion_request) up to its prompt tokens.
// Bad messages must end in smoe::Error or a 400 ApiError; prompts must start with BOS and hold
// only ids of the vocabulary.
#include "core/error.h"
#include "fuzz_support.h"
#include "runtime/chat_format.h"
#include "server/api_error.h"
#include "server/completion_request.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

void check_prompt(const smoe::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  if (ids.empty() || ids.front() != tokenizer.bos_id()) smoe::fuzz::invariant_failed("chat prompt does not start with BOS");
  for (int32_t id : ids)
    if (!tokenizer.is_valid(id)) smoe::fuzz::invariant_failed("chat prompt has an id outside the vocabulary");
}

void through_chat_format(const smoe::Tokenizer& tokenizer, const nlohmann::json& messages) {
  try {
    const std::vector<smoe::ChatMessage> parsed = smoe::parse_chat_messages(messages);
    check_prompt(tokenizer, smoe::chat_prompt_tokens(tokenizer, parsed));
  } catch (const smoe::Error&) {
  }
}

void through_request(const smoe::Tokenizer& tokenizer, std::string_view messages_text) {
  const std::string body = "{\"messages\": " + std::string(messages_text) + "}";
  try {
    const auto request = smoe::server::parse_completion_request(smoe::server::Endpoint::ChatCompletions, body);
    check_prompt(tokenizer, smoe::server::prompt_tokens(request, tokenizer));
  } catch (const smoe::server::ApiError& e) {
    if (e.status() != 400) smoe::fuzz::invariant_failed("a bad chat request is not a 400");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const smoe::Tokenizer& tokenizer = smoe::fuzz::reference_tokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json messages;
  try {
    messages = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  through_chat_format(tokenizer, messages);
  through_request(tokenizer, text);
  return 0;
}

// Fuzz target: the server's request body parser. The first byte picks the endpoint (even: chat
// completions, odd: completions), the rest is the HTTP request body. A bad body must end in a 400
// ApiError; an accepted one must give prompt tokens (or a 400) and a generation budget.
#include "fuzz_support.h"
#include "server/api_error.h"
#include "server/completion_request.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace smoe::server;
  const Endpoint endpoint = data[0] % 2 == 0 ? Endpoint::ChatCompletions : Endpoint::Completions;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const smoe::Tokenizer& tokenizer = smoe::fuzz::reference_tokenizer();
  try {
    const CompletionRequest request = parse_completion_request(endpoint, body);
    if (request.stop.size() > static_cast<size_t>(kMaxStopStrings)) smoe::fuzz::invariant_failed("too many stop strings");
    const std::vector<int32_t> prompt = prompt_tokens(request, tokenizer);
    const int64_t budget = completion_budget(request, static_cast<int64_t>(prompt.size()), 4096);
    if (budget < 1 || budget > 4096) smoe::fuzz::invariant_failed("generation budget outside the context");
  } catch (const ApiError& e) {
    if (e.status() != 400) smoe::fuzz::invariant_failed("a bad request is not a 400");
  }
  return 0;
}

// The generation loop: prefill the prompt in one batch, then sample and decode token by token.
#pragma once

#include "model/session.h"
#include "runtime/sampler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace smoe {

struct GenerationStats {
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0;
  int64_t generated_tokens = 0;
  double generation_seconds = 0;  // sampling + decoding of the generated tokens
  std::string finish_reason;      // "stop" (end of sequence or a callback) or "length"

  double prompt_tokens_per_second() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0; }
  double generation_tokens_per_second() const {
    return generation_seconds > 0 ? generated_tokens / generation_seconds : 0;
  }
};

struct GenerateOptions {
  int64_t max_tokens = 128;  // < 0: until end of sequence or the context is full
  bool stop_at_eos = true;
};

// Called with each sampled token; return false to stop.
using TokenCallback = std::function<bool(int32_t token)>;

// Feeds `prompt` (appended to what the session holds) and generates. The end-of-sequence token
// is reported to the callback but not fed back. Stops at the context limit with "length".
GenerationStats generate(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt,
                         const GenerateOptions& options, const TokenCallback& on_token);

}  // namespace smoe

// Prefill-then-decode loop with timing.
#include "runtime/generate.h"

#include "core/error.h"

#include <chrono>

namespace smoe {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

GenerationStats generate(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt,
                         const GenerateOptions& options, const TokenCallback& on_token) {
  if (prompt.empty()) fail("the prompt is empty: nothing to continue from");
  GenerationStats stats;
  std::vector<int32_t> history = prompt;
  std::vector<float> logits;
  const int32_t eos = session.model().has_tokenizer() ? session.model().tokenizer().eos_id() : -1;

  auto t0 = std::chrono::steady_clock::now();
  session.eval(prompt, false, logits);
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  stats.finish_reason = "length";
  while (options.max_tokens < 0 || stats.generated_tokens < options.max_tokens) {
    const int32_t token = sampler.sample(logits, history);
    ++stats.generated_tokens;
    history.push_back(token);
    const bool keep_going = on_token(token);
    if ((options.stop_at_eos && token == eos) || !keep_going) {
      stats.finish_reason = "stop";
      break;
    }
    if (options.max_tokens >= 0 && stats.generated_tokens >= options.max_tokens) break;
    if (session.n_past() >= session.n_ctx()) break;  // context full: finish with "length"
    const int32_t next[1] = {token};
    session.eval(next, false, logits);
  }
  stats.generation_seconds = seconds_since(t0);
  return stats;
}

}  // namespace smoe

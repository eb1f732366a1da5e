// Windowed perplexity (llama.cpp's method).
#include "runtime/perplexity.h"

#include "core/error.h"
#include "model/session.h"

#include <cmath>

namespace smoe {

double negative_log_likelihood(std::span<const float> logits, int32_t target) {
  double max = logits[0];
  for (float l : logits) max = std::max(max, static_cast<double>(l));
  double z = 0;
  for (float l : logits) z += std::exp(l - max);
  return std::log(z) + max - logits[target];
}

PerplexityResult compute_perplexity(const Model& model, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options,
                                    const std::function<void(int64_t, int64_t)>& progress) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 4) fail("the perplexity window must be at least 4 tokens (got {})", n_ctx);
  if (n_ctx > model.config().context_length)
    fail("the perplexity window {} exceeds the model's context length {}", n_ctx, model.config().context_length);
  const int64_t available = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (available == 0)
    fail("the text has {} tokens, fewer than one window of {} (use a longer text or a smaller --ctx)",
         tokens.size(), n_ctx);
  const int64_t windows = options.max_windows > 0 ? std::min(available, options.max_windows) : available;
  const int32_t bos = model.has_tokenizer() ? model.tokenizer().bos_id() : 1;
  const int64_t vocab = model.config().vocab;
  const int64_t first = n_ctx / 2;

  PerplexityResult r;
  r.text_tokens = static_cast<int64_t>(tokens.size());
  double nll = 0, nll2 = 0;
  std::vector<int32_t> window(n_ctx);
  std::vector<float> logits;
  for (int64_t w = 0; w < windows; ++w) {
    std::copy_n(tokens.begin() + w * n_ctx, n_ctx, window.begin());
    window[0] = bos;
    Session session(model, n_ctx);
    session.eval(window, true, logits);
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const double v = negative_log_likelihood(std::span(logits).subspan(j * vocab, vocab), tokens[w * n_ctx + j + 1]);
      nll += v;
      nll2 += v * v;
      ++r.scored_tokens;
    }
    ++r.windows;
    if (progress) progress(w + 1, windows);
  }
  r.mean_nll = nll / r.scored_tokens;
  r.perplexity = std::exp(r.mean_nll);
  const double variance = nll2 / r.scored_tokens - r.mean_nll * r.mean_nll;
  r.uncertainty = variance > 0 && r.scored_tokens > 1 ? r.perplexity * std::sqrt(variance / (r.scored_tokens - 1)) : 0;
  return r;
}

}  // namespace smoe

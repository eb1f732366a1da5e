// Perplexity of a model on a text, by llama.cpp's method so that figures compare: the text is
// tokenized once (with BOS), cut into non-overlapping windows of n_ctx tokens whose first token
// is replaced by BOS, and in each window only the second half is scored (token j + 1 predicted
// from the logits at j, for j in [n_ctx/2, n_ctx - 1)), so every scored token has at least
// n_ctx/2 tokens of context.
#pragma once

#include "model/model.h"

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace smoe {

struct PerplexityResult {
  double perplexity = 0;
  double uncertainty = 0;     // ± one standard error, propagated to the perplexity
  double mean_nll = 0;        // nats per scored token
  int64_t scored_tokens = 0;
  int64_t windows = 0;
  int64_t text_tokens = 0;
};

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t max_windows = 0;  // 0: all
};

// progress(done, total) after each window.
PerplexityResult compute_perplexity(const Model& model, std::span<const int32_t> tokens,
                                    const PerplexityOptions& options,
                                    const std::function<void(int64_t, int64_t)>& progress = {});

// -log softmax(logits)[target], in float64.
double negative_log_likelihood(std::span<const float> logits, int32_t target);

}  // namespace smoe

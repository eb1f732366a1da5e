// Sampling pipeline in the order llama.cpp applies it, so that the same settings mean the same.
#include "runtime/sampler.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace smoe {

void SamplerParams::validate() const {
  if (!std::isfinite(temperature) || temperature < 0) fail("temperature must be >= 0 (got {})", temperature);
  if (!(top_p > 0 && top_p <= 1)) fail("top-p must be in (0, 1] (got {})", top_p);
  if (!(min_p >= 0 && min_p <= 1)) fail("min-p must be in [0, 1] (got {})", min_p);
  if (!(repeat_penalty > 0) || !std::isfinite(repeat_penalty))
    fail("repeat penalty must be > 0 (got {})", repeat_penalty);
  if (repeat_last_n < 0) fail("repeat-last-n must be >= 0 (got {})", repeat_last_n);
}

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) { params_.validate(); }

int32_t argmax(std::span<const float> values) {
  int32_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best] || (std::isnan(values[best]) && !std::isnan(values[i]))) best = static_cast<int32_t>(i);
  return best;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    candidates_[i] = {static_cast<int32_t>(i), std::isnan(logits[i]) ? -INFINITY : logits[i]};

  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
    const size_t from = history.size() > static_cast<size_t>(params_.repeat_last_n)
                            ? history.size() - params_.repeat_last_n
                            : 0;
    std::unordered_set<int32_t> seen(history.begin() + from, history.end());
    for (int32_t id : seen) {
      if (id < 0 || static_cast<size_t>(id) >= candidates_.size()) continue;
      float& l = candidates_[id].logit;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    }
  }

  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (params_.temperature <= 0) return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->id;

  size_t n = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    n = params_.top_k;
    std::partial_sort(candidates_.begin(), candidates_.begin() + n, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }

  // Probabilities of the survivors (softmax at temperature 1, as llama.cpp filters before
  // applying the temperature).
  std::vector<double> p(n);
  const double max = candidates_[0].logit;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(candidates_[i].logit - max);
  for (double& v : p) v /= sum;

  if (params_.top_p < 1.0f) {
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += p[i];
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (params_.min_p > 0) {
    const double threshold = params_.min_p * p[0];
    size_t keep = 1;
    while (keep < n && p[keep] >= threshold) ++keep;
    n = keep;
  }

  std::vector<double> weights(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i)
    total += weights[i] = std::exp((candidates_[i].logit - max) / static_cast<double>(params_.temperature));
  // An explicit draw (53 random bits) rather than std::discrete_distribution, whose output is
  // not specified across standard libraries: the same seed gives the same text everywhere.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += weights[i];
    if (u < cum) return candidates_[i].id;
  }
  return candidates_[n - 1].id;
}

}  // namespace smoe

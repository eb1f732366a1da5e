// Turns a row of logits into the next token: repetition penalty, then top-k, top-p and min-p
// filtering, then temperature and a draw from a seeded generator (greedy at temperature 0).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace smoe {

struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy (argmax)
  int32_t top_k = 40;           // <= 0: no limit
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off; keeps tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1: off; >1 discourages tokens seen in the last repeat_last_n
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;

  // Throws smoe::Error naming an out-of-range value.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(SamplerParams params);

  // history: the tokens of the sequence so far (for the repetition penalty).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplerParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
};

// Index of the largest value (the lowest index among equal maxima).
int32_t argmax(std::span<const float> values);

}  // namespace smoe

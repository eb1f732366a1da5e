// Shared helpers of the conversion tests: converting quietly into a temporary directory,
// computing a model's logits for a prompt, and the comparison metrics (max |diff|, mean KL).
#pragma once

#include "convert/convert.h"
#include "model/model.h"
#include "model/session.h"
#include "support/test_paths.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace smoe::test {

// Converts `source` to `dir`/`file` with the given --type; returns the output path.
inline std::string convert_quietly(const std::string& source, const std::string& dir, const std::string& file,
                                   const std::string& type, int threads = 2) {
  ConvertOptions o;
  o.source = source;
  o.output = dir + "/" + file;
  o.type = type;
  o.threads = threads;
  o.progress = ConvertOptions::Progress::Never;
  convert_model(o);
  return o.output;
}

// All logits ([tokens x vocab]) of one prefill of `tokens`.
inline std::vector<float> prompt_logits(const Model& model, const std::vector<int32_t>& tokens) {
  Session session(model);
  std::vector<float> logits;
  session.eval(tokens, true, logits);
  return logits;
}

// The token ids of a case of a manifest.json (../shared/hf or ../shared/golden).
inline std::vector<int32_t> manifest_tokens(const std::string& manifest, const std::string& key,
                                            const std::string& value) {
  std::ifstream f(shared_path(manifest));
  const nlohmann::json j = nlohmann::json::parse(f);
  for (const auto& c : j["cases"])
    if (c.contains(key) && c[key] == value) return c["tokens"].get<std::vector<int32_t>>();
  return {};
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

// Mean over rows of KL(softmax(p) || softmax(q)), in float64.
inline double mean_kl(const std::vector<float>& p, const std::vector<float>& q, int64_t n_vocab) {
  const int64_t rows = static_cast<int64_t>(p.size()) / n_vocab;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = p.data() + r * n_vocab;
    const float* b = q.data() + r * n_vocab;
    auto log_z = [n_vocab](const float* x) {
      double max = x[0];
      for (int64_t i = 1; i < n_vocab; ++i) max = std::max(max, static_cast<double>(x[i]));
      double sum = 0;
      for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(x[i] - max);
      return max + std::log(sum);
    };
    const double za = log_z(a), zb = log_z(b);
    double kl = 0;
    for (int64_t i = 0; i < n_vocab; ++i) {
      const double la = a[i] - za, lb = b[i] - zb;
      kl += std::exp(la) * (la - lb);
    }
    total += kl;
  }
  return rows ? total / static_cast<double>(rows) : 0;
}

}  // namespace smoe::test

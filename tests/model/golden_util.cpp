// Golden-case loading and the tolerance metrics.
#include "model/golden_util.h"

#include "support/test_paths.h"

#include <cmath>
#include <fstream>
#include <stdexcept>

namespace smoe::test {

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  if (shared_dir().empty()) return cases;
  std::ifstream f(shared_path("golden/manifest.json"));
  const nlohmann::json manifest = nlohmann::json::parse(f);
  for (const auto& c : manifest["cases"]) {
    GoldenCase g;
    g.model = shared_path("golden/" + c["model"].get<std::string>());
    g.type = c["type"];
    g.tokens = c["tokens"].get<std::vector<int32_t>>();
    if (c["prompt_text"].is_string()) g.prompt_text = c["prompt_text"];
    g.first_row = c["logits_first_row"];
    g.rows = c["logits_shape"][0];
    g.vocab = c["logits_shape"][1];
    g.logits = shared_path("golden/" + c["logits"].get<std::string>());
    if (c["ideal_logits"].is_string()) g.ideal_logits = shared_path("golden/" + c["ideal_logits"].get<std::string>());
    g.greedy_next = c["greedy_next"].get<std::vector<int32_t>>();
    std::string base = c["logits"].get<std::string>();
    g.name = base.substr(0, base.find(".logits"));
    cases.push_back(std::move(g));
  }
  return cases;
}

std::vector<GoldenCase> golden_f32_cases() {
  std::vector<GoldenCase> cases;
  for (auto& c : golden_cases())
    if (c.ideal_logits.empty()) cases.push_back(std::move(c));
  return cases;
}

std::vector<float> read_f32_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw std::runtime_error("cannot read " + path);
  const auto size = static_cast<size_t>(f.tellg());
  std::vector<float> v(size / sizeof(float));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

double max_abs_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

double kl_divergence(const float* p_logits, const float* q_logits, int64_t n) {
  auto log_softmax = [n](const float* x) {
    double max = x[0];
    for (int64_t i = 1; i < n; ++i) max = std::max(max, static_cast<double>(x[i]));
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - max);
    const double log_z = max + std::log(sum);
    std::vector<double> out(n);
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] - log_z;
    return out;
  };
  const auto lp = log_softmax(p_logits), lq = log_softmax(q_logits);
  double kl = 0;
  for (int64_t i = 0; i < n; ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return kl;
}

}  // namespace smoe::test

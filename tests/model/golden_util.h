// Reading ../shared/golden: the manifest's cases, reference logits, and the tolerance metrics
// of ../shared/README.md (max |diff| for F32, mean KL against the float64 ideal otherwise).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace smoe::test {

struct GoldenCase {
  std::string name;        // e.g. "micro-q4_0-p1"
  std::string model;       // absolute path of the GGUF
  std::string type;        // "F32", "Q4_K_M", ...
  std::vector<int32_t> tokens;
  std::string prompt_text;  // empty when the case gives ids only
  int64_t first_row = 0;
  int64_t rows = 0;
  int64_t vocab = 0;
  std::string logits;        // llama.cpp's logits file
  std::string ideal_logits;  // float64 reference ("" for F32)
  std::vector<int32_t> greedy_next;
};

// All cases of ../shared/golden/manifest.json (empty when ../shared is absent).
std::vector<GoldenCase> golden_cases();
// The cases of float32 models (whose greedy continuations must match llama.cpp's).
std::vector<GoldenCase> golden_f32_cases();
// Test names show the case name, not its bytes.
inline void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }
std::vector<float> read_f32_file(const std::string& path);

// max_i |a_i - b_i|
double max_abs_diff(const float* a, const float* b, int64_t n);
// KL(softmax(p) || softmax(q)) in float64.
double kl_divergence(const float* p_logits, const float* q_logits, int64_t n);

}  // namespace smoe::test

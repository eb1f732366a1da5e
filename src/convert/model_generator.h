// `smoe gen-model`: a random-weight model with the exact shapes of a real one (fewer layers
// allowed), written directly in any type, for benchmarks and tests where real weights cannot be
// had. llama.cpp loads the files too.
#pragma once

#include "model/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace smoe {

struct GenerateModelOptions {
  std::string preset;       // mixtral-8x7b, mixtral-8x22b, mistral-7b
  int64_t layers = 0;       // 0: the preset's
  std::string type = "Q4_K_M";
  std::string output;
  std::string tokenizer;    // a tokenizer.model to embed; "" = the bundled one if found, else synthetic
  uint64_t seed = 1;
  bool progress = true;
};

// The presets' shapes.
ModelConfig preset_config(const std::string& preset);
std::vector<std::string> preset_names();

struct GenerateModelReport {
  uint64_t bytes = 0;
  int64_t tensors = 0;
  int64_t parameters = 0;
  double seconds = 0;
};

// Weights are rows drawn from a pool of independently quantized random rows (per type and row
// length), so a 26 GB model is written at disk speed; every matrix has its own random row order.
// Throws smoe::Error; never leaves a partial file.
GenerateModelReport generate_model(const GenerateModelOptions& options);

}  // namespace smoe

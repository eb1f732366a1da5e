// A loaded model: the mapped file, its shape, its weights and its vocabulary.
#pragma once

#include "formats/gguf.h"
#include "model/config.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>

namespace smoe {

class Model {
 public:
  // Loads a GGUF model file; throws smoe::Error with a clear message on any problem.
  static std::unique_ptr<Model> load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  // The model's vocabulary; throws smoe::Error when the file carries none.
  const Tokenizer& tokenizer() const;
  const std::string& path() const { return path_; }
  // The GGUF file the weights point into.
  const GgufFile& gguf() const { return *gguf_; }

 private:
  std::string path_;
  std::unique_ptr<GgufFile> gguf_;
  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;

  friend class GgufModelLoader;
};

}  // namespace smoe

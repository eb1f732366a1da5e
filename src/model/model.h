// A loaded model: its files (GGUF, or a Hugging Face directory of safetensors shards), its shape,
// its weights (views into the mapped files) and its vocabulary.
#pragma once

#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"
#include "model/config.h"
#include "model/expert_source.h"
#include "model/tensor_table.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>
#include <vector>

namespace smoe {

class Model {
 public:
  // Loads a GGUF file or a Hugging Face checkpoint directory; throws smoe::Error with a clear
  // message on any problem.
  static std::unique_ptr<Model> load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  // The model's vocabulary; throws smoe::Error when the model carries none.
  const Tokenizer& tokenizer() const;
  const std::string& path() const { return path_; }
  // Every tensor of the model files, in ggml order and type.
  const TensorTable& tensors() const { return tensors_; }
  // "GGUF v3", "Hugging Face safetensors (2 shards)", ...
  const std::string& format() const { return format_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // The GGUF file, or nullptr for a Hugging Face checkpoint.
  const GgufFile* gguf() const { return gguf_.get(); }
  const HfCheckpoint* hf() const { return hf_.get(); }

  // A file whose read-only mapping holds weights: the GGUF file, or each safetensors shard.
  struct MappedRegion {
    std::string path;
    const uint8_t* data = nullptr;
    size_t size = 0;
  };
  std::vector<MappedRegion> mapped_files() const;

  // Where ForwardPass gets the experts: nullptr (the default) reads them in place from the
  // mapping; an expert cache (src/cache) reads them into memory of its own. Set before any
  // ForwardPass or Session is made over this model.
  ExpertSource* expert_source() const { return expert_source_.get(); }
  void set_expert_source(std::unique_ptr<ExpertSource> source) { expert_source_ = std::move(source); }

 private:
  std::string path_;
  std::unique_ptr<GgufFile> gguf_;
  std::unique_ptr<HfCheckpoint> hf_;
  TensorTable tensors_;
  std::string format_;
  uint64_t file_bytes_ = 0;
  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ExpertSource> expert_source_;  // last: stops before the files are unmapped

  void load_gguf();
  void load_hf();
};

}  // namespace smoe

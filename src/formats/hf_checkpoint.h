// A Hugging Face checkpoint directory: config.json, the weights in model.safetensors or in the
// shards that model.safetensors.index.json lists, and tokenizer.model. Knows nothing of models:
// it finds tensors by name across shards and hands out the parsed config.
#pragma once

#include "formats/safetensors.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

class HfCheckpoint {
 public:
  // Opens `dir`; throws smoe::Error naming the missing or malformed file.
  static HfCheckpoint open(const std::string& dir);

  // True when `path` is a directory holding a config.json.
  static bool looks_like_checkpoint(const std::string& path);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  // The tensor called `name` in whichever shard holds it, or nullptr.
  const SafetensorsTensor* find(std::string_view name) const;
  // Every tensor of every shard.
  std::vector<const SafetensorsTensor*> tensors() const;
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  uint64_t total_file_bytes() const;
  // tokenizer.model inside the directory, or "" when absent.
  std::string tokenizer_model_path() const;

 private:
  std::string dir_;
  nlohmann::json config_;
  std::vector<SafetensorsFile> shards_;
};

}  // namespace smoe

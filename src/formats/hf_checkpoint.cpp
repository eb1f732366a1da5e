// Opening a Hugging Face checkpoint directory, sharded or not.
#include "formats/hf_checkpoint.h"

#include "core/error.h"
#include "formats/json_file.h"

#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace smoe {

bool HfCheckpoint::looks_like_checkpoint(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

HfCheckpoint HfCheckpoint::open(const std::string& dir) {
  HfCheckpoint c;
  c.dir_ = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("'{}' is not a directory", dir);
  const fs::path root(dir);
  if (!fs::exists(root / "config.json", ec)) fail("'{}' has no config.json (not a Hugging Face checkpoint)", dir);
  c.config_ = read_json_file((root / "config.json").string());
  if (!c.config_.is_object()) fail("'{}': config.json is not a JSON object", dir);

  const fs::path index = root / "model.safetensors.index.json";
  const fs::path single = root / "model.safetensors";
  std::vector<std::string> shard_names;
  if (fs::exists(index, ec)) {
    const nlohmann::json j = read_json_file(index.string());
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      fail("'{}': no weight_map object", index.string());
    std::set<std::string> unique;
    for (const auto& [tensor, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail("'{}': the shard of '{}' is not a file name", index.string(), tensor);
      const std::string name = file.get<std::string>();
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        fail("'{}': shard name '{}' must be a file in the checkpoint directory", index.string(), name);
      unique.insert(name);
    }
    shard_names.assign(unique.begin(), unique.end());
    for (const auto& name : shard_names)
      if (!fs::exists(root / name, ec)) fail("'{}': shard '{}' listed in the index is missing", dir, name);
  } else if (fs::exists(single, ec)) {
    shard_names.push_back("model.safetensors");
  } else {
    fail("'{}' has neither model.safetensors nor model.safetensors.index.json", dir);
  }
  for (const auto& name : shard_names) c.shards_.push_back(SafetensorsFile::open((root / name).string()));
  std::set<std::string> seen;
  for (const auto& shard : c.shards_)
    for (const auto& [name, t] : shard.tensors())
      if (!seen.insert(name).second) fail("'{}': tensor '{}' appears in more than one shard", dir, name);
  return c;
}

const SafetensorsTensor* HfCheckpoint::find(std::string_view name) const {
  for (const auto& shard : shards_)
    if (const SafetensorsTensor* t = shard.find(name)) return t;
  return nullptr;
}

std::vector<const SafetensorsTensor*> HfCheckpoint::tensors() const {
  std::vector<const SafetensorsTensor*> all;
  for (const auto& shard : shards_)
    for (const auto& [name, t] : shard.tensors()) all.push_back(&t);
  return all;
}

uint64_t HfCheckpoint::total_file_bytes() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) total += shard.file_size();
  return total;
}

std::string HfCheckpoint::tokenizer_model_path() const {
  std::error_code ec;
  const fs::path p = fs::path(dir_) / "tokenizer.model";
  return fs::exists(p, ec) ? p.string() : std::string();
}

}  // namespace smoe

// Opening a model: recognizes the format, builds the tensor table, maps the weights, loads the
// tokenizer.
#include "model/model.h"

#include "core/error.h"
#include "model/weight_mapper.h"

#include <filesystem>
#include <fmt/format.h>

namespace smoe {
namespace {

GgmlType ggml_type_of(SafetensorsDtype dtype, const std::string& dir, const std::string& name) {
  switch (dtype) {
    case SafetensorsDtype::F32: return GgmlType::F32;
    case SafetensorsDtype::F16: return GgmlType::F16;
    case SafetensorsDtype::BF16: return GgmlType::BF16;
    default:
      fail("{}: tensor '{}' has dtype {} (smoe loads BF16, F16 and F32 checkpoints)", dir, name,
           safetensors_dtype_name(dtype));
  }
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path) {
  auto model = std::unique_ptr<Model>(new Model());
  model->path_ = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    model->load_hf();
  else
    model->load_gguf();
  return model;
}

void Model::load_gguf() {
  gguf_ = std::make_unique<GgufFile>(GgufFile::open(path_));
  format_ = fmt::format("GGUF v{}", gguf_->version());
  file_bytes_ = gguf_->file_size();
  for (const GgufTensor& t : gguf_->tensors())
    tensors_.add({t.name, t.type, t.ne, t.n_elements, t.n_bytes, t.data});
  config_ = config_from_gguf(*gguf_);
  weights_ = map_weights(tensors_, gguf_naming(), config_, path_);
  if (gguf_->has("tokenizer.ggml.tokens")) tokenizer_ = std::make_unique<Tokenizer>(load_vocab_from_gguf(*gguf_));
  if (tokenizer_ && tokenizer_->vocab().size() > config_.vocab)
    fail("{}: the tokenizer has {} tokens but the embedding has only {} rows", path_, tokenizer_->vocab().size(),
         config_.vocab);
}

void Model::load_hf() {
  hf_ = std::make_unique<HfCheckpoint>(HfCheckpoint::open(path_));
  format_ = fmt::format("Hugging Face safetensors ({} shard{})", hf_->shards().size(),
                        hf_->shards().size() == 1 ? "" : "s");
  file_bytes_ = hf_->total_file_bytes();
  config_ = config_from_hf(hf_->config(), path_ + "/config.json");
  for (const SafetensorsTensor* t : hf_->tensors()) {
    // safetensors lists dimensions outermost first; ggml innermost first.
    std::vector<int64_t> ne(t->shape.rbegin(), t->shape.rend());
    if (ne.empty()) ne.push_back(1);
    tensors_.add({t->name, ggml_type_of(t->dtype, path_, t->name), ne, t->n_elements, t->n_bytes, t->data});
  }
  const nlohmann::json& j = hf_->config();
  const bool tied = j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean() &&
                    j["tie_word_embeddings"].get<bool>();
  if (!tied && !tensors_.find("lm_head.weight"))
    fail("{}: missing tensor 'lm_head.weight' (and tie_word_embeddings is not set)", path_);
  weights_ = map_weights(tensors_, hf_naming(), config_, path_, tied);
  const std::string sp = hf_->tokenizer_model_path();
  if (!sp.empty()) {
    tokenizer_ = std::make_unique<Tokenizer>(load_vocab_from_sentencepiece(sp));
    if (tokenizer_->vocab().size() > config_.vocab)
      fail("{}: tokenizer.model has {} tokens but vocab_size is {}", path_, tokenizer_->vocab().size(), config_.vocab);
  }
}

std::vector<Model::MappedRegion> Model::mapped_files() const {
  std::vector<MappedRegion> files;
  if (gguf_) files.push_back({gguf_->path(), gguf_->file_data(), gguf_->file_size()});
  if (hf_)
    for (const SafetensorsFile& shard : hf_->shards()) files.push_back({shard.path(), shard.file_data(), shard.file_size()});
  return files;
}

const Tokenizer& Model::tokenizer() const {
  if (!tokenizer_)
    fail("{}: the model has no tokenizer ({})", path_,
         gguf_ ? "no tokenizer.ggml.tokens in the file" : "no tokenizer.model in the directory");
  return *tokenizer_;
}

}  // namespace smoe

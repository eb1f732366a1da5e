// GGUF metadata for converted models (see metadata.h).
#include "convert/metadata.h"

#include "core/error.h"
#include "formats/json_file.h"
#include "tokenizer/vocab.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace smoe {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
constexpr std::string_view kArch = "llama";   // Mixtral, Mistral and Llama all load as "llama"

std::string arch_key(std::string_view suffix) { return fmt::format("{}.{}", kArch, suffix); }

uint32_t u32(int64_t v, std::string_view what) {
  if (v < 0 || v > UINT32_MAX) fail("{} = {} does not fit the GGUF field", what, v);
  return static_cast<uint32_t>(v);
}


// A JSON file of the checkpoint directory, or null when absent or unreadable as JSON (these
// files are optional; config.json itself was already read by the loader).
nlohmann::json optional_json(const std::string& dir, const char* name) {
  const std::filesystem::path path = std::filesystem::path(dir) / name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nullptr;
  return nlohmann::json::parse(read_json_text(path.string()), nullptr, /*allow_exceptions=*/false);
}

void write_hf_vocab(GgufWriter& out, const Model& model) {
  if (!model.has_tokenizer())
    fail("{}: no tokenizer.model in the directory (smoe convert needs the SentencePiece vocabulary)", model.path());
  Vocab vocab = model.tokenizer().vocab();
  const int64_t n_vocab = model.config().vocab;
  // Ids the embedding has but the tokenizer does not name: llama.cpp's converter fills them with
  // unused pieces so the token list matches the embedding.
  for (int64_t id = vocab.size(); id < n_vocab; ++id) {
    vocab.pieces.push_back(fmt::format("[PAD{}]", id));
    vocab.scores.push_back(-1000.0f);
    vocab.kinds.push_back(TokenKind::Unused);
  }
  const std::string& dir = model.path();
  const nlohmann::json config = model.hf()->config();
  auto id_from = [&](const nlohmann::json& j, const char* key, int32_t& id) {
    if (j.is_object() && j.contains(key) && j[key].is_number_integer()) {
      const int64_t v = j[key].get<int64_t>();
      if (v >= 0 && v < vocab.size()) id = static_cast<int32_t>(v);
    }
  };
  id_from(config, "bos_token_id", vocab.bos_id);
  id_from(config, "eos_token_id", vocab.eos_id);
  id_from(config, "pad_token_id", vocab.pad_id);
  const nlohmann::json tokenizer_config = optional_json(dir, "tokenizer_config.json");
  if (tokenizer_config.is_object()) {
    if (tokenizer_config.contains("add_bos_token") && tokenizer_config["add_bos_token"].is_boolean())
      vocab.add_bos = tokenizer_config["add_bos_token"].get<bool>();
    if (tokenizer_config.contains("add_eos_token") && tokenizer_config["add_eos_token"].is_boolean())
      vocab.add_eos = tokenizer_config["add_eos_token"].get<bool>();
  }

  write_vocab(out, vocab);
}

}  // namespace

void write_model_shape(GgufWriter& out, const ModelConfig& c, const std::string& name) {
  out.set_string("general.architecture", kArch);
  out.set_string("general.name", name);
  out.set_u32(arch_key("block_count"), u32(c.n_layer, "block_count"));
  out.set_u32(arch_key("context_length"), u32(c.context_length, "context_length"));
  out.set_u32(arch_key("embedding_length"), u32(c.dim, "embedding_length"));
  out.set_u32(arch_key("feed_forward_length"), u32(c.hidden, "feed_forward_length"));
  out.set_u32(arch_key("attention.head_count"), u32(c.n_head, "head_count"));
  out.set_u32(arch_key("attention.head_count_kv"), u32(c.n_kv_head, "head_count_kv"));
  // llama.cpp derives the head size from embedding_length / head_count unless told otherwise.
  if (c.head_dim * c.n_head != c.dim) {
    out.set_u32(arch_key("attention.key_length"), u32(c.head_dim, "key_length"));
    out.set_u32(arch_key("attention.value_length"), u32(c.head_dim, "value_length"));
  }
  out.set_f32(arch_key("rope.freq_base"), c.rope_theta);
  out.set_f32(arch_key("attention.layer_norm_rms_epsilon"), c.norm_eps);
  if (c.is_moe()) {
    out.set_u32(arch_key("expert_count"), u32(c.n_expert, "expert_count"));
    out.set_u32(arch_key("expert_used_count"), u32(c.n_expert_used, "expert_used_count"));
  }
  // llama.cpp's "llama" architecture ignores this key (it attends to the whole context); smoe
  // reads it, so a Mistral converted here keeps its window.
  if (c.sliding_window > 0) out.set_u32(arch_key("attention.sliding_window"), u32(c.sliding_window, "sliding_window"));
  out.set_u32(arch_key("vocab_size"), u32(c.vocab, "vocab_size"));
  out.set_u32(arch_key("rope.dimension_count"), u32(c.rope_dim, "rope.dimension_count"));
}

void write_vocab(GgufWriter& out, const Vocab& vocab) {
  std::vector<int32_t> kinds(vocab.kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) kinds[i] = static_cast<int32_t>(vocab.kinds[i]);
  out.set_string("tokenizer.ggml.model", "llama");
  out.set_string("tokenizer.ggml.pre", "default");
  out.set_string_array("tokenizer.ggml.tokens", vocab.pieces);
  out.set_f32_array("tokenizer.ggml.scores", vocab.scores);
  out.set_i32_array("tokenizer.ggml.token_type", kinds);
  if (vocab.bos_id >= 0) out.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.bos_id));
  if (vocab.eos_id >= 0) out.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.eos_id));
  out.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(vocab.unk_id));
  if (vocab.pad_id >= 0) out.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(vocab.pad_id));
  out.set_bool("tokenizer.ggml.add_bos_token", vocab.add_bos);
  out.set_bool("tokenizer.ggml.add_eos_token", vocab.add_eos);
  // llama.cpp assumes a space prefix for SentencePiece vocabularies; say so only when it differs.
  if (!vocab.add_dummy_prefix) out.set_bool("tokenizer.ggml.add_space_prefix", false);
}

void write_file_type(GgufWriter& out, const QuantMix& mix) {
  // Last, in llama-quantize's order. The quantization version is in every file llama.cpp writes
  // but all-F32 ones.
  if (mix.file_type != FileType::ALL_F32) out.set_u32("general.quantization_version", kQuantizationVersion);
  out.set_u32("general.file_type", static_cast<uint32_t>(mix.file_type));
}


void write_hf_metadata(GgufWriter& out, const Model& model, const QuantMix& mix) {
  const ModelConfig& c = model.config();
  std::string name = c.name;
  if (name.empty()) name = std::filesystem::path(model.path()).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model.path()).lexically_normal().parent_path().filename().string();

  write_model_shape(out, c, name);
  write_hf_vocab(out, model);
  write_file_type(out, mix);
}

void write_gguf_metadata(GgufWriter& out, const GgufFile& source, const QuantMix& mix) {
  const std::string arch = source.get_string("general.architecture").value_or(std::string(kArch));
  const std::string arch_prefix = arch + ".";
  for (const std::string& key : source.key_order()) {
    if (key == "general.file_type" || key == "general.quantization_version" || key.starts_with("split.")) continue;
    const GgufValue& value = *source.find(key);
    if (key == "general.architecture") {
      out.set_string(key, kArch);
    } else if (arch != kArch && key.starts_with(arch_prefix)) {
      out.set_value(arch_key(std::string_view(key).substr(arch_prefix.size())), value);
    } else {
      out.set_value(key, value);
    }
  }
  write_file_type(out, mix);
}

}  // namespace smoe

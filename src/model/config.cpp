// ModelConfig from GGUF metadata, and its consistency checks.
#include "model/config.h"

#include "core/error.h"
#include "formats/gguf.h"

namespace smoe {

void ModelConfig::validate() const {
  auto positive = [](int64_t v, const char* what) {
    if (v <= 0) fail("model config: {} must be positive (got {})", what, v);
  };
  positive(dim, "embedding length");
  positive(n_layer, "block count");
  positive(hidden, "feed-forward length");
  positive(n_head, "attention head count");
  positive(n_kv_head, "key/value head count");
  positive(head_dim, "head dimension");
  positive(vocab, "vocabulary size");
  positive(context_length, "context length");
  if (n_head % n_kv_head != 0)
    fail("model config: {} attention heads are not a multiple of {} key/value heads", n_head, n_kv_head);
  if (rope_dim <= 0 || rope_dim > head_dim || rope_dim % 2 != 0)
    fail("model config: RoPE dimension {} must be even and within the head dimension {}", rope_dim, head_dim);
  if (n_expert < 0) fail("model config: negative expert count {}", n_expert);
  if (n_expert > 0 && (n_expert_used < 1 || n_expert_used > n_expert))
    fail("model config: {} experts used per token must be between 1 and the expert count {}",
         n_expert_used, n_expert);
  if (!(rope_theta > 0)) fail("model config: RoPE base must be positive (got {})", rope_theta);
  if (!(norm_eps > 0)) fail("model config: RMSNorm epsilon must be positive (got {})", norm_eps);
  if (sliding_window < 0) fail("model config: negative sliding window {}", sliding_window);
}

ModelConfig config_from_gguf(const GgufFile& gguf) {
  ModelConfig c;
  auto arch = gguf.get_string("general.architecture");
  if (!arch) fail("{}: missing general.architecture", gguf.path());
  // Mixtral, Mistral and Llama GGUFs all use the "llama" architecture; llama.cpp's older
  // Mixtral conversions may say so explicitly too.
  if (*arch != "llama" && *arch != "mistral" && *arch != "mixtral")
    fail("{}: architecture '{}' is not supported (smoe runs llama/mistral/mixtral models)", gguf.path(), *arch);
  c.architecture = *arch;
  c.name = gguf.get_string("general.name").value_or("");
  const std::string p = *arch + ".";
  auto required = [&](const char* key) -> int64_t {
    auto v = gguf.get_int(p + key);
    if (!v) fail("{}: missing {}{}", gguf.path(), p, key);
    return *v;
  };
  c.dim = required("embedding_length");
  c.n_layer = required("block_count");
  c.hidden = required("feed_forward_length");
  c.n_head = required("attention.head_count");
  c.n_kv_head = gguf.get_int(p + "attention.head_count_kv").value_or(c.n_head);
  if (c.n_head <= 0) fail("{}: attention.head_count must be positive", gguf.path());
  if (c.dim % c.n_head != 0 && !gguf.has(p + "attention.key_length"))
    fail("{}: embedding length {} is not a multiple of the head count {}", gguf.path(), c.dim, c.n_head);
  c.head_dim = gguf.get_int(p + "attention.key_length").value_or(c.dim / c.n_head);
  if (auto vlen = gguf.get_int(p + "attention.value_length"); vlen && *vlen != c.head_dim)
    fail("{}: value length {} differs from key length {} (not supported)", gguf.path(), *vlen, c.head_dim);
  c.rope_dim = gguf.get_int(p + "rope.dimension_count").value_or(c.head_dim);
  c.n_expert = gguf.get_int(p + "expert_count").value_or(0);
  c.n_expert_used = gguf.get_int(p + "expert_used_count").value_or(c.n_expert > 0 ? 2 : 0);
  if (c.n_expert == 1 && !gguf.find_tensor("blk.0.ffn_gate_inp.weight")) c.n_expert = 0, c.n_expert_used = 0;
  c.context_length = gguf.get_int(p + "context_length").value_or(4096);
  c.sliding_window = gguf.get_int(p + "attention.sliding_window").value_or(0);
  c.rope_theta = static_cast<float>(gguf.get_float(p + "rope.freq_base").value_or(10000.0));
  c.norm_eps = static_cast<float>(gguf.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.rope_style = RopeStyle::AdjacentPairs;
  // vocab_size is optional in GGUF; the token list or the embedding decide otherwise.
  if (auto v = gguf.get_int(p + "vocab_size")) {
    c.vocab = *v;
  } else if (const GgufTensor* emb = gguf.find_tensor("token_embd.weight")) {
    c.vocab = emb->dim(1);
  }
  if (auto scaling = gguf.get_string(p + "rope.scaling.type"); scaling && *scaling != "none")
    fail("{}: RoPE scaling '{}' is not supported", gguf.path(), *scaling);
  c.validate();
  return c;
}

}  // namespace smoe

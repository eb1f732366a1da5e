// ModelConfig from a Hugging Face config.json (MixtralForCausalLM, MistralForCausalLM,
// LlamaForCausalLM), with the defaults transformers uses for absent keys.
#include "core/error.h"
#include "model/config.h"

#include <nlohmann/json.hpp>

namespace smoe {

ModelConfig config_from_hf(const nlohmann::json& j, const std::string& source) {
  ModelConfig c;
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    arch = j["architectures"][0];
  if (arch != "MixtralForCausalLM" && arch != "MistralForCausalLM" && arch != "LlamaForCausalLM")
    fail("{}: architecture '{}' is not supported (smoe runs MixtralForCausalLM, MistralForCausalLM and "
         "LlamaForCausalLM)", source, arch.empty() ? "(none)" : arch);
  const bool mixtral = arch == "MixtralForCausalLM";
  c.architecture = arch;
  // Only a name for display: a value that is not a string is ignored (value() would throw for it).
  if (j.contains("_name_or_path") && j["_name_or_path"].is_string()) c.name = j["_name_or_path"].get<std::string>();

  auto get_int = [&](const char* key, std::optional<int64_t> fallback) -> int64_t {
    if (!j.contains(key) || j[key].is_null()) {
      if (!fallback) fail("{}: config.json has no '{}'", source, key);
      return *fallback;
    }
    if (!j[key].is_number_integer()) fail("{}: config.json '{}' must be an integer", source, key);
    return j[key].get<int64_t>();
  };
  auto get_float = [&](const char* key, double fallback) -> double {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) fail("{}: config.json '{}' must be a number", source, key);
    return j[key].get<double>();
  };

  c.dim = get_int("hidden_size", std::nullopt);
  c.hidden = get_int("intermediate_size", std::nullopt);
  c.n_layer = get_int("num_hidden_layers", std::nullopt);
  c.n_head = get_int("num_attention_heads", std::nullopt);
  c.n_kv_head = get_int("num_key_value_heads", c.n_head);
  if (c.n_head <= 0) fail("{}: num_attention_heads must be positive", source);
  if (!j.contains("head_dim") && c.dim % c.n_head != 0)
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", source, c.dim, c.n_head);
  c.head_dim = get_int("head_dim", c.dim / c.n_head);
  c.rope_dim = c.head_dim;
  c.vocab = get_int("vocab_size", 32000);
  c.context_length = get_int("max_position_embeddings", mixtral ? 32768 : 4096);
  c.rope_theta = static_cast<float>(get_float("rope_theta", mixtral ? 1e6 : 10000.0));
  c.norm_eps = static_cast<float>(get_float("rms_norm_eps", mixtral ? 1e-5 : 1e-6));
  c.sliding_window = get_int("sliding_window", 0);
  if (mixtral) {
    c.n_expert = get_int("num_local_experts", 8);
    c.n_expert_used = get_int("num_experts_per_tok", 2);
  }
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    fail("{}: rope_scaling is not supported", source);
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    // Named by its text or its type, never dump()ed: dump recurses, and a value of deeply nested
    // lists would exhaust the stack.
    const nlohmann::json& act = j["hidden_act"];
    fail("{}: hidden_act {} is not supported (Mixtral uses silu)", source,
         act.is_string() ? "'" + act.get<std::string>() + "'" : fmt::format("of type {}", act.type_name()));
  }
  c.rope_style = RopeStyle::Halves;
  c.validate();
  return c;
}

}  // namespace smoe

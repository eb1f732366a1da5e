// `smoe info`: a model's shape, weight types, parameter counts and sizes (text or JSON).
#include "cli/commands.h"
#include "runtime/default_model.h"
#include "model/model.h"
#include "model/summary.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace smoe::cli {
namespace {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return fmt::format("{:.2f} {}", b, units[u]);
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f}B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f}M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.2f}K", n / 1e3);
  return fmt::format("{:.0f}", n);
}

}  // namespace

Command add_info_command(CLI::App& root) {
  struct Options {
    std::string model;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("info", "Show a model's shape, weight types, parameters and sizes");
  sub->add_option("-m,--model", o->model, "Model: a GGUF file or a Hugging Face checkpoint directory (default: the bundled model)");
  sub->add_flag("--json", o->json, "Print one JSON object");
  return {sub, [o]() {
            auto model = Model::load(resolve_model_path(o->model));
            const ModelConfig& c = model->config();
            const ModelSummary s = summarize(*model);
            nlohmann::ordered_json j;
            j["path"] = model->path();
            j["format"] = model->format();
            j["architecture"] = c.architecture;
            j["name"] = c.name;
            j["shape"] = {{"dim", c.dim},
                          {"n_layer", c.n_layer},
                          {"hidden", c.hidden},
                          {"n_head", c.n_head},
                          {"n_kv_head", c.n_kv_head},
                          {"head_dim", c.head_dim},
                          {"n_expert", c.n_expert},
                          {"n_expert_used", c.n_expert_used},
                          {"vocab", c.vocab},
                          {"context_length", c.context_length},
                          {"sliding_window", c.sliding_window},
                          {"rope_theta", c.rope_theta},
                          {"rope_dim", c.rope_dim},
                          {"norm_eps", c.norm_eps}};
            j["expert_layout"] = !c.is_moe() ? "dense"
                                 : model->tensors().find("blk.0.ffn_gate_exps.weight") ? "merged"
                                                                                       : "per-expert";
            j["tied_embeddings"] = model->weights().tied_output;
            nlohmann::ordered_json types = nlohmann::ordered_json::object();
            for (const auto& [name, use] : s.by_type)
              types[name] = {{"tensors", use.tensors}, {"parameters", use.parameters}, {"bytes", use.bytes}};
            j["types"] = types;
            j["parameters"] = {{"total", s.total_parameters}, {"active_per_token", s.active_parameters}};
            j["bytes"] = {{"file", model->file_bytes()},
                          {"weights", s.weight_bytes},
                          {"weights_read_per_token", s.active_weight_bytes},
                          {"kv_cache_per_token", s.kv_bytes_per_token},
                          {"kv_cache_full_context", s.kv_bytes_per_token * static_cast<uint64_t>(c.context_length)}};
            if (o->json) {
              std::printf("%s\n", j.dump(2).c_str());
              return 0;
            }
            std::string out;
            out += fmt::format("model:        {} ({}, {})\n", model->path(), j["format"].get<std::string>(), c.architecture);
            if (!c.name.empty()) out += fmt::format("name:         {}\n", c.name);
            out += fmt::format("shape:        dim {}, {} layers, {} heads ({} KV, head dim {}), ffn {}, vocab {}\n", c.dim,
                               c.n_layer, c.n_head, c.n_kv_head, c.head_dim, c.hidden, c.vocab);
            if (c.is_moe())
              out += fmt::format("experts:      {} per layer, top-{} ({})\n", c.n_expert, c.n_expert_used,
                                 j["expert_layout"].get<std::string>());
            else
              out += "experts:      none (dense)\n";
            out += fmt::format("context:      {} tokens, RoPE theta {}{}\n", c.context_length, c.rope_theta,
                               c.sliding_window ? fmt::format(", sliding window {}", c.sliding_window) : "");
            out += fmt::format("parameters:   {} total, {} active per token\n", human_count(s.total_parameters),
                               human_count(s.active_parameters));
            out += "weight types:";
            for (const auto& [name, use] : s.by_type)
              out += fmt::format(" {} ({} tensors, {})", name, use.tensors, human_bytes(use.bytes));
            out += "\n";
            out += fmt::format("sizes:        file {}, weights read per token {}, KV cache {} per token\n",
                               human_bytes(model->file_bytes()), human_bytes(s.active_weight_bytes),
                               human_bytes(s.kv_bytes_per_token));
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
          }};
}

}  // namespace smoe::cli

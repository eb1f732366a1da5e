// The smoe subcommands. Each registers its flags on the root app and returns the action to run
// when it was chosen; actions throw smoe::Error for user-facing failures.
#pragma once

#include <CLI/CLI.hpp>

#include "model/model.h"
#include "runtime/generate.h"
#include "runtime/sampler.h"

#include <functional>
#include <memory>
#include <string>

namespace smoe::cli {

using Action = std::function<int()>;
struct Command {
  CLI::App* app;  // the subcommand's parser
  Action action;
};

Command add_run_command(CLI::App& root);
Command add_logits_command(CLI::App& root);
Command add_tokenize_command(CLI::App& root);
Command add_detokenize_command(CLI::App& root);
Command add_info_command(CLI::App& root);
Command add_convert_command(CLI::App& root);
Command add_chat_command(CLI::App& root);
Command add_chat_tokenize_command(CLI::App& root);
Command add_perplexity_command(CLI::App& root);
Command add_routes_command(CLI::App& root);
Command add_bench_command(CLI::App& root);
Command add_gen_model_command(CLI::App& root);
Command add_serve_command(CLI::App& root);

// The expert cache flags: --expert-cache SIZE, --expert-cache-policy, --no-prefetch.
struct ExpertCacheFlags {
  std::string size;  // "" = no cache: experts read in place from the mapping
  std::string policy = "lfu";
  bool no_prefetch = false;
  void add_to(CLI::App& app);
  // Attaches an expert cache to `model` when --expert-cache was given.
  void apply(Model& model) const;
};

// For --verbose: the expert cache's description and statistics on stderr (or a note that the
// experts are read in place).
void print_expert_cache_report(const Model& model);

// Options shared by the commands that compute with a model. A command (the server too) gets
// -m, -t, --ctx and the expert cache flags from add_to() and its model from load_model().
struct ComputeOptions {
  std::string model;
  int threads = 0;   // 0: physical cores
  int64_t ctx = 0;   // 0: the model's context length
  ExpertCacheFlags cache;
  void add_to(CLI::App& app, bool with_ctx = true);
  // Applies the thread count (OpenMP) and returns the model path to open.
  std::string prepare() const;
  // prepare(), Model::load and the expert cache if asked for.
  std::unique_ptr<Model> load_model() const;
};

// Sampling and length flags shared by run and chat.
struct GenerationFlags {
  int64_t n_predict = 128;
  SamplerParams sampling;
  bool ignore_eos = false;
  void add_to(CLI::App& app, int64_t default_n_predict);
};

// Generates from `prompt`, streaming the text to stdout as it completes and ending it with a
// newline; the end-of-sequence token is not printed when it stops the generation. `last_token`
// receives the last sampled token (not yet computed by the session).
GenerationStats stream_generation(Session& session, Sampler& sampler, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, int32_t* last_token = nullptr);

// The interactive chat loop (smoe chat, smoe run --chat): reads user turns from stdin until EOF
// or /exit, keeping the conversation in the KV cache between turns.
int run_interactive_chat(const ComputeOptions& compute, const GenerationFlags& flags, const std::string& system);

// "1,2,3" (spaces allowed) -> ids; throws smoe::Error on anything else.
std::vector<int32_t> parse_id_list(const std::string& text);
// The contents of a file; throws smoe::Error naming it when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace smoe::cli

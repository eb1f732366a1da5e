// `smoe run`: generate a continuation of a prompt, streamed to stdout; speeds to stderr.
#include "cli/commands.h"
#include "core/error.h"
#include "model/model.h"
#include "model/session.h"
#include "runtime/generate.h"

#include <cstdio>
#include <memory>

namespace smoe::cli {

Command add_run_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    GenerationFlags gen;
    std::string prompt;
    std::string prompt_file;
    bool no_bos = false;
    bool chat = false;
    bool verbose = false;
    std::string system;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("run", "Generate text continuing a prompt");
  o->compute.add_to(*sub);
  auto* p = sub->add_option("-p,--prompt", o->prompt, "Prompt text");
  auto* f = sub->add_option("-f,--file", o->prompt_file, "Read the prompt from a file")->excludes(p);
  p->excludes(f);
  o->gen.add_to(*sub, 128);
  sub->add_flag("--no-bos", o->no_bos, "Do not prepend the beginning-of-sequence token");
  sub->add_flag("--chat", o->chat, "Interactive chat in the Mixtral Instruct format (as smoe chat)");
  sub->add_option("--system", o->system, "System message for --chat");
  sub->add_flag("-v,--verbose", o->verbose, "Also print the expert cache's statistics");

  return {sub, [o, p, f]() {
            if (o->chat) {
              if (p->count() || f->count()) fail("--chat reads the conversation from the terminal; drop -p/-f");
              return run_interactive_chat(o->compute, o->gen, o->system);
            }
            if (!o->system.empty()) fail("--system is for --chat");
            o->gen.sampling.validate();
            auto model = o->compute.load_model();
            const Tokenizer& tok = model->tokenizer();
            const std::string text = o->prompt_file.empty() ? o->prompt : read_text_file(o->prompt_file);
            std::vector<int32_t> prompt = tok.encode(text, !o->no_bos && tok.vocab().add_bos);
            if (prompt.empty()) fail("the prompt is empty: give some text with -p or use the default BOS");
            Session session(*model, o->compute.ctx);
            if (static_cast<int64_t>(prompt.size()) >= session.n_ctx())
              fail("the prompt has {} tokens, more than the context size {} allows", prompt.size(), session.n_ctx());
            Sampler sampler(o->gen.sampling);
            GenerateOptions options;
            options.max_tokens = o->gen.n_predict;
            options.stop_at_eos = !o->gen.ignore_eos;
            const GenerationStats stats = stream_generation(session, sampler, prompt, options);
            std::fprintf(stderr,
                         "prompt: %lld tokens in %.3f s (%.1f tokens/s) | generation: %lld tokens in %.3f s "
                         "(%.1f tokens/s) | finish: %s\n",
                         static_cast<long long>(stats.prompt_tokens), stats.prompt_seconds,
                         stats.prompt_tokens_per_second(), static_cast<long long>(stats.generated_tokens),
                         stats.generation_seconds, stats.generation_tokens_per_second(),
                         stats.finish_reason.c_str());
            if (o->verbose) print_expert_cache_report(*model);
            return 0;
          }};
}

}  // namespace smoe::cli

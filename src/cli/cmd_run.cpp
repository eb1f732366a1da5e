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
    std::string prompt;
    std::string prompt_file;
    int64_t n_predict = 128;
    SamplerParams sampling;
    bool no_bos = false;
    bool ignore_eos = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("run", "Generate text continuing a prompt");
  o->compute.add_to(*sub);
  auto* p = sub->add_option("-p,--prompt", o->prompt, "Prompt text");
  auto* f = sub->add_option("-f,--file", o->prompt_file, "Read the prompt from a file")->excludes(p);
  p->excludes(f);
  sub->add_option("-n,--n-predict", o->n_predict, "Tokens to generate (-1: until end of sequence or full context)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40));
  sub->add_option("--temp", o->sampling.temperature, "Temperature (0: greedy)")->capture_default_str();
  sub->add_option("--top-k", o->sampling.top_k, "Keep the K most likely tokens (0: all)")->capture_default_str();
  sub->add_option("--top-p", o->sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  sub->add_option("--min-p", o->sampling.min_p, "Drop tokens below P x the top probability (0: off)")->capture_default_str();
  sub->add_option("--repeat-penalty", o->sampling.repeat_penalty, "Penalty for repeated tokens (1: off)")->capture_default_str();
  sub->add_option("--repeat-last-n", o->sampling.repeat_last_n, "How many recent tokens the penalty looks at")->capture_default_str();
  sub->add_option("--seed", o->sampling.seed, "Random seed (same seed, same text)")->capture_default_str();
  sub->add_flag("--no-bos", o->no_bos, "Do not prepend the beginning-of-sequence token");
  sub->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past the end-of-sequence token");

  return {sub, [o]() {
            o->sampling.validate();
            const std::string path = o->compute.prepare();
            auto model = Model::load(path);
            const Tokenizer& tok = model->tokenizer();
            const std::string text = o->prompt_file.empty() ? o->prompt : read_text_file(o->prompt_file);
            std::vector<int32_t> prompt = tok.encode(text, !o->no_bos && tok.vocab().add_bos);
            if (prompt.empty()) fail("the prompt is empty: give some text with -p or use the default BOS");
            Session session(*model, o->compute.ctx);
            if (static_cast<int64_t>(prompt.size()) >= session.n_ctx())
              fail("the prompt has {} tokens, more than the context size {} allows", prompt.size(), session.n_ctx());
            Sampler sampler(o->sampling);
            StreamingDecoder decoder(tok);
            GenerateOptions options;
            options.max_tokens = o->n_predict;
            options.stop_at_eos = !o->ignore_eos;
            GenerationStats stats = generate(session, sampler, prompt, options, [&](int32_t token) {
              if (token == tok.eos_id() && !o->ignore_eos) return true;
              const std::string piece = decoder.push(token);
              std::fwrite(piece.data(), 1, piece.size(), stdout);
              std::fflush(stdout);
              return true;
            });
            const std::string rest = decoder.finish();
            std::fwrite(rest.data(), 1, rest.size(), stdout);
            std::fputc('\n', stdout);
            std::fflush(stdout);
            std::fprintf(stderr,
                         "prompt: %lld tokens in %.3f s (%.1f tokens/s) | generation: %lld tokens in %.3f s "
                         "(%.1f tokens/s) | finish: %s\n",
                         static_cast<long long>(stats.prompt_tokens), stats.prompt_seconds,
                         stats.prompt_tokens_per_second(), static_cast<long long>(stats.generated_tokens),
                         stats.generation_seconds, stats.generation_tokens_per_second(),
                         stats.finish_reason.c_str());
            return 0;
          }};
}

}  // namespace smoe::cli

// `smoe logits`: write the float32 logits of every position of a prompt, for checking smoe
// against a reference (one batch, or token by token with --incremental).
#include "cli/commands.h"
#include "core/error.h"
#include "model/model.h"
#include "model/session.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace smoe::cli {

Command add_logits_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    std::string tokens;
    std::string prompt;
    std::string output;
    bool incremental = false;
    bool verbose = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("logits", "Write the logits of every prompt position as float32 [n_tokens, n_vocab]");
  o->compute.add_to(*sub);
  auto* t = sub->add_option("--tokens", o->tokens, "Token ids, comma-separated (BOS not added)");
  auto* p = sub->add_option("-p,--prompt", o->prompt, "Prompt text (tokenized with BOS, as run does)");
  t->excludes(p);
  sub->add_option("-o,--output", o->output, "Output file")->required();
  sub->add_flag("--incremental", o->incremental, "Compute token by token with the KV cache instead of one batch");
  sub->add_flag("-v,--verbose", o->verbose, "Also print the expert cache's statistics");

  return {sub, [o, t, p]() {
            if (t->count() == 0 && p->count() == 0) fail("give the input as --tokens 1,2,3 or -p TEXT");
            auto model = o->compute.load_model();
            std::vector<int32_t> ids;
            if (t->count()) {
              ids = parse_id_list(o->tokens);
            } else {
              const Tokenizer& tok = model->tokenizer();
              ids = tok.encode(o->prompt, tok.vocab().add_bos);
            }
            if (ids.empty()) fail("no tokens to compute");
            Session session(*model, o->compute.ctx);
            const int64_t vocab = model->config().vocab;
            std::vector<float> all(ids.size() * vocab), logits;
            if (o->incremental) {
              for (size_t i = 0; i < ids.size(); ++i) {
                session.eval(std::span(&ids[i], 1), false, logits);
                std::copy(logits.begin(), logits.end(), all.begin() + i * vocab);
              }
            } else {
              session.eval(ids, true, all);
            }
            std::FILE* f = std::fopen(o->output.c_str(), "wb");
            if (!f) fail("cannot write '{}': {}", o->output, std::strerror(errno));
            const size_t written = std::fwrite(all.data(), sizeof(float), all.size(), f);
            if (std::fclose(f) != 0 || written != all.size()) fail("cannot write '{}': {}", o->output, std::strerror(errno));
            std::fprintf(stderr, "wrote %zu x %lld logits to %s\n", ids.size(), static_cast<long long>(vocab),
                         o->output.c_str());
            if (o->verbose) print_expert_cache_report(*model);
            return 0;
          }};
}

}  // namespace smoe::cli

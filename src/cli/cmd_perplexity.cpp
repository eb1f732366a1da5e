// `smoe perplexity`: perplexity of a model on a text file, by llama.cpp's windowed method.
#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/model.h"
#include "runtime/perplexity.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

namespace smoe::cli {

Command add_perplexity_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    std::string file;
    int64_t window = 0;  // 0: 512, or the model's context if shorter
    int64_t max_windows = 0;
    bool json = false;
    bool verbose = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand(
      "perplexity", "Perplexity on a text: non-overlapping windows, the second half of each scored (as llama.cpp)");
  o->compute.add_to(*sub, false);
  sub->add_option("-f,--file", o->file, "Text file")->required();
  sub->add_option("--ctx", o->window, "Window size in tokens (default: 512, or the model's context if shorter)")->check(CLI::Range(4, 1 << 20));
  sub->add_option("--chunks", o->max_windows, "Score at most this many windows (0: all)")->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", o->json, "Print the result as one JSON object");
  sub->add_flag("-v,--verbose", o->verbose, "Also print the expert cache's statistics");
  return {sub, [o]() {
            auto model = o->compute.load_model();
            if (o->window == 0) o->window = std::min<int64_t>(512, model->config().context_length);
            const std::string text = read_text_file(o->file);
            const auto tokens = model->tokenizer().encode(text, model->tokenizer().vocab().add_bos);
            ProgressBar bar("perplexity");
            double running = 0;
            PerplexityOptions options;
            options.n_ctx = o->window;
            options.max_windows = o->max_windows;
            const PerplexityResult r = compute_perplexity(*model, tokens, options, [&](int64_t done, int64_t total) {
              bar.update(done, total, "windows");
              (void)running;
            });
            bar.finish();
            if (o->json) {
              nlohmann::ordered_json j = {{"perplexity", r.perplexity},   {"uncertainty", r.uncertainty},
                                          {"mean_nll", r.mean_nll},       {"scored_tokens", r.scored_tokens},
                                          {"windows", r.windows},         {"window", o->window},
                                          {"text_tokens", r.text_tokens}};
              std::printf("%s\n", j.dump().c_str());
            } else {
              std::printf("perplexity: %.4f +/- %.4f (%lld tokens scored in %lld windows of %lld; text has %lld tokens)\n",
                          r.perplexity, r.uncertainty, static_cast<long long>(r.scored_tokens),
                          static_cast<long long>(r.windows), static_cast<long long>(o->window),
                          static_cast<long long>(r.text_tokens));
            }
            if (o->verbose) print_expert_cache_report(*model);
            return 0;
          }};
}

}  // namespace smoe::cli

// `smoe bench`: speed of a model on this machine against the memory-bandwidth roofline.
#include "cache/cache_report.h"
#include "cli/commands.h"
#include "model/model.h"
#include "model/summary.h"
#include "runtime/bench.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include "core/thread_pool.h"

namespace smoe::cli {

Command add_bench_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    BenchOptions bench;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("bench", "Measure prompt and decode speed against the memory-bandwidth roofline");
  o->compute.add_to(*sub, false);
  sub->add_option("-p,--prompt-tokens", o->bench.prompt_tokens, "Prompt length")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("-n,--decode-tokens", o->bench.decode_tokens, "Tokens decoded per measurement")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--batch", o->bench.batch, "Sequences decoding together (0: skip)")->capture_default_str()->check(CLI::NonNegativeNumber);
  sub->add_option("--reps", o->bench.repetitions, "Repetitions (the median is reported)")->capture_default_str()->check(CLI::Range(1, 100));
  sub->add_flag("--json", o->json, "Print one JSON object");
  return {sub, [o]() {
            auto model = o->compute.load_model();
            o->bench.threads = smoe::ThreadPool::global().threads();
            const BenchResult r = run_bench(*model, o->bench, [&](const std::string& phase) {
              if (!o->json) std::fprintf(stderr, "bench: %s...\n", phase.c_str());
            });
            const double gib = 1024.0 * 1024 * 1024;
            if (o->json) {
              nlohmann::ordered_json j = {
                  {"model", model->path()},
                  {"threads", o->bench.threads},
                  {"prompt_tokens", o->bench.prompt_tokens},
                  {"decode_tokens", o->bench.decode_tokens},
                  {"batch", o->bench.batch},
                  {"prompt_tokens_per_s", r.prompt_tokens_per_s},
                  {"decode_tokens_per_s", r.decode_tokens_per_s},
                  {"batch_decode_tokens_per_s", r.batch_decode_tokens_per_s},
                  {"bytes_per_token", r.bytes_per_token},
                  {"batch_bytes_per_step", r.batch_bytes_per_step},
                  {"achieved_gbps", r.achieved_gbps},
                  {"read_bandwidth_gbps", r.read_bandwidth_gbps},
                  {"roofline_fraction", r.roofline_fraction},
                  {"batch_bound_tokens_per_s", r.batch_bound_tokens_per_s},
                  {"peak_rss_bytes", r.peak_rss_bytes},
                  {"disk_read_gbps", r.disk_read_gbps},
              };
              if (r.expert_cache) {
                j["expert_cache"] = expert_cache_of(*model)->describe();
                j["prompt_cache"] = expert_cache_stats_json(r.prompt_cache);
                j["decode_cache"] = expert_cache_stats_json(r.decode_cache);
              }
              std::printf("%s\n", j.dump(2).c_str());
              return 0;
            }
            // Models larger than memory run below a token per second: keep three digits.
            auto rate = [](double v) { return v < 10 ? fmt::format("{:.3f}", v) : fmt::format("{:.1f}", v); };
            std::string out;
            out += fmt::format("model:            {} ({} threads)\n", model->path(), o->bench.threads);
            out += fmt::format("prompt ({:>4}):     {} tokens/s\n", o->bench.prompt_tokens, rate(r.prompt_tokens_per_s));
            out += fmt::format("decode (batch 1): {} tokens/s, {:.1f} MB read per token, {:.1f} GB/s\n",
                               rate(r.decode_tokens_per_s), r.bytes_per_token / 1e6, r.achieved_gbps);
            if (o->bench.batch > 1)
              out += fmt::format("decode (batch {}): {:.1f} tokens/s aggregate ({:.2f}x batch 1; bound by bandwidth: {:.1f})\n",
                                 o->bench.batch, r.batch_decode_tokens_per_s,
                                 r.decode_tokens_per_s > 0 ? r.batch_decode_tokens_per_s / r.decode_tokens_per_s : 0,
                                 r.batch_bound_tokens_per_s);
            out += fmt::format("read bandwidth:   {:.1f} GB/s measured -> roofline fraction {:.0f}%\n",
                               r.read_bandwidth_gbps, 100 * r.roofline_fraction);
            out += fmt::format("peak RSS:         {:.2f} GiB (file {:.2f} GiB)\n", r.peak_rss_bytes / gib,
                               model->file_bytes() / gib);
            if (r.disk_read_gbps > 0)
              out += fmt::format("disk read:        {:.2f} GB/s (O_DIRECT, sequential, model file)\n", r.disk_read_gbps);
            if (r.expert_cache) {
              out += expert_cache_of(*model)->describe() + "\n";
              out += "  prompt:\n" + format_expert_cache_stats(r.prompt_cache, "    ");
              out += "  decode (batch 1):\n" + format_expert_cache_stats(r.decode_cache, "    ");
            }
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
          }};
}

}  // namespace smoe::cli

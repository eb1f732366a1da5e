// `smoe routes`: records which experts the router picks for every token and layer of a text, and
// reports expert load and temporal locality per layer (JSON, SVG heatmap, and a table).
#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/model.h"
#include "model/session.h"
#include "runtime/routing_report.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace smoe::cli {
namespace {

// "smoe-mixtral-tiny" for "models/smoe-mixtral-tiny/", "m.gguf" for "/x/m.gguf".
std::string display_name(const std::string& path) {
  const std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  return p.has_filename() ? p.filename().string() : p.parent_path().filename().string();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  if (!f || !(f << content) || !f.flush()) fail("cannot write '{}': {}", path, std::strerror(errno));
}

}  // namespace

Command add_routes_command(CLI::App& root) {
  struct Options {
    ComputeOptions compute;
    std::string file, output;
    int64_t window = 0;  // 0: 512, or the model's context if shorter
    int64_t max_tokens = 0;
    bool no_trace = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("routes", "Record and analyze the router's choices on a text");
  o->compute.add_to(*sub, false);
  sub->add_option("-f,--file", o->file, "Text file")->required();
  sub->add_option("-o,--output", o->output, "Output name: writes NAME.json and NAME.svg")->required();
  sub->add_option("--ctx", o->window, "Window size in tokens (each window starts with BOS) (default: 512, or the model's context if shorter)")->check(CLI::Range(2, 1 << 20));
  sub->add_option("--max-tokens", o->max_tokens, "Analyze at most this many text tokens (0: all)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--no-trace", o->no_trace, "Leave the per-token trace out of the JSON");
  return {sub, [o]() {
            auto model = o->compute.load_model();
            const ModelConfig& c = model->config();
            if (o->window == 0) o->window = std::min<int64_t>(512, c.context_length);
            if (!c.is_moe()) fail("'{}' is a dense model: it has no router to analyze", model->path());
            if (o->window > c.context_length) fail("--ctx {} exceeds the model's context length {}", o->window, c.context_length);
            const Tokenizer& tok = model->tokenizer();
            std::vector<int32_t> tokens = tok.encode(read_text_file(o->file), false);
            if (o->max_tokens > 0 && static_cast<int64_t>(tokens.size()) > o->max_tokens) tokens.resize(o->max_tokens);
            if (tokens.size() < 2) fail("'{}' has fewer than two tokens of text", o->file);

            RoutingTrace trace(c.n_layer, c.n_expert, c.n_expert_used);
            const int64_t per_window = o->window - 1;  // plus BOS
            const int64_t windows = (static_cast<int64_t>(tokens.size()) + per_window - 1) / per_window;
            ProgressBar bar("routes");
            std::vector<float> logits;
            for (int64_t w = 0; w < windows; ++w) {
              std::vector<int32_t> batch = {tok.bos_id()};
              const int64_t begin = w * per_window;
              const int64_t end = std::min<int64_t>(begin + per_window, tokens.size());
              batch.insert(batch.end(), tokens.begin() + begin, tokens.begin() + end);
              Session session(*model, o->window);
              trace.begin_segment();
              // Position 0 is the BOS token the window starts with: not part of the text.
              session.set_routing_observer([&](int64_t layer, int32_t, int64_t pos, std::span<const ExpertChoice> choices) {
                if (pos > 0) trace.record(layer, pos - 1, choices);
              });
              session.eval(batch, false, logits);
              bar.update(w + 1, windows, "windows");
            }
            bar.finish();
            const auto stats = analyze_routing(trace);
            std::string base = o->output;
            if (base.size() > 5 && base.ends_with(".json")) base.resize(base.size() - 5);
            write_file(base + ".json", routing_report_json(trace, stats, !o->no_trace).dump(1) + "\n");
            const std::string title = fmt::format("Routing of {} on {}", display_name(model->path()),
                                                  std::filesystem::path(o->file).filename().string());
            write_file(base + ".svg", routing_report_svg(trace, stats, title));
            const std::string table = routing_report_table(trace, stats);
            std::fwrite(table.data(), 1, table.size(), stdout);
            std::fprintf(stderr, "wrote %s.json and %s.svg\n", base.c_str(), base.c_str());
            return 0;
          }};
}

}  // namespace smoe::cli

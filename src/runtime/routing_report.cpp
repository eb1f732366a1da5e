// JSON, SVG and text renderings of routing statistics.
#include "runtime/routing_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace smoe {
namespace {

double share(int64_t part, int64_t whole) { return whole > 0 ? static_cast<double>(part) / whole : 0; }

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// White (0) to deep blue (1).
std::string heat_color(double v) {
  v = std::clamp(v, 0.0, 1.0);
  const int r = static_cast<int>(255 - v * (255 - 33));
  const int g = static_cast<int>(255 - v * (255 - 102));
  const int b = static_cast<int>(255 - v * (255 - 172));
  return fmt::format("rgb({},{},{})", r, g, b);
}

}  // namespace

nlohmann::ordered_json routing_report_json(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats,
                                           bool include_trace) {
  nlohmann::ordered_json j;
  j["tokens"] = trace.n_tokens();
  j["n_layer"] = trace.n_layer();
  j["n_expert"] = trace.n_expert();
  j["experts_per_token"] = trace.k();
  j["random_expectation"] = {{"same_first_choice", random_same_first_share(trace.n_expert())},
                             {"any_shared_expert", random_any_shared_share(trace.n_expert(), trace.k())}};
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (size_t l = 0; l < stats.size(); ++l) {
    const auto& s = stats[l];
    nlohmann::ordered_json load = nlohmann::ordered_json::array();
    for (int64_t c : s.load) load.push_back(share(c, trace.n_tokens() * trace.k()));
    nlohmann::ordered_json first = nlohmann::ordered_json::array();
    for (int64_t c : s.first_choice) first.push_back(share(c, trace.n_tokens()));
    layers.push_back({{"layer", l},
                      {"expert_load_share", load},
                      {"first_choice_share", first},
                      {"consecutive_pairs", s.consecutive_pairs},
                      {"same_first_choice", s.same_first_share},
                      {"any_shared_expert", s.any_shared_share}});
  }
  j["layers"] = layers;
  if (include_trace) {
    // [layer][token][choice]
    nlohmann::ordered_json t = nlohmann::ordered_json::array();
    for (int64_t l = 0; l < trace.n_layer(); ++l) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (int64_t i = 0; i < trace.n_tokens(); ++i) {
        nlohmann::ordered_json row = nlohmann::ordered_json::array();
        for (int64_t c = 0; c < trace.k(); ++c) row.push_back(trace.expert(l, i, c));
        rows.push_back(row);
      }
      t.push_back(rows);
    }
    j["trace"] = t;
  }
  return j;
}

std::string routing_report_svg(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats,
                               const std::string& title) {
  const int64_t n_expert = trace.n_expert(), n_layer = trace.n_layer();
  const int cell = 36, left = 70, top = 84, gap = 30, loc_w = 90;
  const int width = std::max(760, left + static_cast<int>(n_expert) * cell + gap + 2 * loc_w + 30);
  const int height = top + static_cast<int>(n_layer) * cell + 80;
  const double uniform = 1.0 / static_cast<double>(n_expert);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{}</text>\n"
      "<text x=\"10\" y=\"38\">Left: expert load per layer, % of routed slots (uniform = {:.1f}%). Right: "
      "consecutive tokens with the same</text>\n<text x=\"10\" y=\"52\">first-choice expert, and with at least "
      "one expert in common.</text>\n",
      width, height, escape_xml(title), 100 * uniform);
  for (int64_t e = 0; e < n_expert; ++e)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">E{}</text>\n", left + e * cell + cell / 2, top - 8, e);
  const int loc_x = left + static_cast<int>(n_expert) * cell + gap;
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">same 1st</text>\n", loc_x + loc_w / 2, top - 8);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">any shared</text>\n", loc_x + loc_w + loc_w / 2, top - 8);
  const double rand_first = random_same_first_share(n_expert), rand_any = random_any_shared_share(n_expert, trace.k());
  for (int64_t l = 0; l < n_layer; ++l) {
    const int y = top + static_cast<int>(l) * cell;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">layer {}</text>\n", left - 8, y + cell / 2 + 4, l);
    for (int64_t e = 0; e < n_expert; ++e) {
      const double v = share(stats[l].load[e], trace.n_tokens() * trace.k());
      // Color scale: 0 to twice the uniform share.
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ccc\"><title>layer {} expert {}: "
          "{:.1f}%</title></rect>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{}\">{:.0f}</text>\n",
          left + e * cell, y, cell, cell, heat_color(v / (2 * uniform)), l, e, 100 * v, left + e * cell + cell / 2,
          y + cell / 2 + 4, v > 1.2 * uniform ? "white" : "black", 100 * v);
    }
    const double vals[2] = {stats[l].same_first_share, stats[l].any_shared_share};
    const double rands[2] = {rand_first, rand_any};
    for (int c = 0; c < 2; ++c) {
      const int x = loc_x + c * loc_w;
      // Color by how far above random the locality is (random = white, certain = deep blue).
      const double lift = rands[c] < 1 ? (vals[c] - rands[c]) / (1 - rands[c]) : 0;
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ccc\"/>\n<text x=\"{}\" y=\"{}\" "
          "text-anchor=\"middle\" font-size=\"11\" fill=\"{}\">{:.1f}%</text>\n",
          x, y, loc_w, cell, heat_color(lift * 2), x + loc_w / 2, y + cell / 2 + 4, lift > 0.3 ? "white" : "black",
          100 * vals[c]);
    }
  }
  s += fmt::format(
      "<text x=\"10\" y=\"{}\">Random routing would give: same first choice {:.1f}%, at least one shared expert "
      "{:.1f}%. {} tokens.</text>\n</svg>\n",
      top + n_layer * cell + 30, 100 * rand_first, 100 * rand_any, trace.n_tokens());
  return s;
}

std::string routing_report_table(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats) {
  std::string s = fmt::format("{} tokens, top-{} of {} experts; random routing: same first choice {:.1f}%, any shared {:.1f}%\n",
                              trace.n_tokens(), trace.k(), trace.n_expert(),
                              100 * random_same_first_share(trace.n_expert()),
                              100 * random_any_shared_share(trace.n_expert(), trace.k()));
  s += "layer  same-1st  any-shared  load per expert (%)\n";
  for (size_t l = 0; l < stats.size(); ++l) {
    s += fmt::format("{:>5}  {:>7.1f}%  {:>9.1f}% ", l, 100 * stats[l].same_first_share, 100 * stats[l].any_shared_share);
    for (int64_t c : stats[l].load) s += fmt::format(" {:>5.1f}", 100 * share(c, trace.n_tokens() * trace.k()));
    s += "\n";
  }
  return s;
}

}  // namespace smoe

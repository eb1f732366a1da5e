// Renders a routing analysis for people: a JSON report (with the per-token trace) and an SVG
// heatmap of expert load and temporal locality per layer.
#pragma once

#include "moe/routing_stats.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace smoe {

nlohmann::ordered_json routing_report_json(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats,
                                           bool include_trace);
std::string routing_report_svg(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats,
                               const std::string& title);
// A plain-text table: one line per layer.
std::string routing_report_table(const RoutingTrace& trace, const std::vector<LayerRoutingStats>& stats);

}  // namespace smoe

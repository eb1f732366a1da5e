// Attaching an expert cache to a loaded model, and its statistics as text and JSON (for bench,
// run --verbose and the server's metrics).
#pragma once

#include "cache/expert_cache.h"
#include "model/expert_source.h"
#include "model/model.h"

#include <nlohmann/json.hpp>

#include <string>

namespace smoe {

// Makes an ExpertCache over `model` and makes it the model's expert source (before any Session
// or ForwardPass is created); returns it.
ExpertCache& attach_expert_cache(Model& model, const ExpertCacheOptions& options);

// The expert cache of `model`, or nullptr.
const ExpertCache* expert_cache_of(const Model& model);

// Lines like "expert cache: hit rate 71.2% (...)"; each line starts with `indent`.
std::string format_expert_cache_stats(const ExpertCacheStats& s, const std::string& indent = "");

nlohmann::ordered_json expert_cache_stats_json(const ExpertCacheStats& s);

}  // namespace smoe

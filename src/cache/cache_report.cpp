// Attaching the expert cache and reporting what it did.
#include "cache/cache_report.h"

#include <fmt/format.h>

namespace smoe {

ExpertCache& attach_expert_cache(Model& model, const ExpertCacheOptions& options) {
  auto cache = std::make_unique<ExpertCache>(model, options);
  ExpertCache& ref = *cache;
  model.set_expert_source(std::move(cache));
  return ref;
}

const ExpertCache* expert_cache_of(const Model& model) { return dynamic_cast<const ExpertCache*>(model.expert_source()); }

std::string format_expert_cache_stats(const ExpertCacheStats& s, const std::string& indent) {
  std::string out;
  out += fmt::format("{}hit rate {:.1f}% ({} of {} experts needed: {} cached, {} prefetched; {} read on demand)\n",
                     indent, 100 * s.hit_rate(), s.hits + s.prefetch_hits, s.lookups, s.hits, s.prefetch_hits,
                     s.misses());
  out += fmt::format("{}prefetch accuracy {:.1f}% ({} of {} predicted experts used; {} prefetch reads, {} wasted)\n",
                     indent, 100 * s.prefetch_accuracy(), s.predictions_used, s.predictions, s.prefetch_reads,
                     s.prefetch_wasted);
  out += fmt::format("{}disk: {:.1f} MB read per token ({} experts, {:.2f} GB in {:.2f} s of reads, {:.2f} GB/s)\n",
                     indent, s.bytes_per_token() / 1e6, s.reads, s.bytes_read / 1e9, s.read_seconds, s.read_gbps());
  out += fmt::format("{}stalled on I/O {:.2f} s ({:.1f} ms per token)\n", indent, s.stall_seconds,
                     s.tokens ? 1e3 * s.stall_seconds / s.tokens : 0.0);
  return out;
}

nlohmann::ordered_json expert_cache_stats_json(const ExpertCacheStats& s) {
  return {
      {"slots", s.slots},
      {"slot_bytes", s.slot_bytes},
      {"total_experts", s.total_experts},
      {"tokens", s.tokens},
      {"lookups", s.lookups},
      {"hits", s.hits},
      {"prefetch_hits", s.prefetch_hits},
      {"hit_rate", s.hit_rate()},
      {"predictions", s.predictions},
      {"predictions_used", s.predictions_used},
      {"prefetch_accuracy", s.prefetch_accuracy()},
      {"prefetch_reads", s.prefetch_reads},
      {"prefetch_wasted", s.prefetch_wasted},
      {"reads", s.reads},
      {"bytes_read", s.bytes_read},
      {"bytes_per_token", s.bytes_per_token()},
      {"read_seconds", s.read_seconds},
      {"stall_seconds", s.stall_seconds},
  };
}

}  // namespace smoe

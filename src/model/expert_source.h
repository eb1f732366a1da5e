// Where the forward pass gets an expert's weights when they are not simply the views into the
// mapped model file. Without a source (the default) ForwardPass reads ModelWeights' experts in
// place and pays nothing for this interface. With one (src/cache: the expert cache that runs
// models larger than memory) every expert is acquired before its matrices are multiplied and
// released after; the weights handed out stay valid and unchanged in between (pinned), whatever
// other threads load.
//
// The interface lives in the model area so that ForwardPass and Model depend on nothing above
// them; the cache implements it (cache depends on model, never the reverse).
#pragma once

#include "model/weights.h"

#include <cstdint>
#include <span>

namespace smoe {

// What an expert cache has done since the last reset; for bench, run --verbose and the server's
// metrics. Counts are over (layer, expert) pairs: a batch that routes 5 tokens to one expert of
// one layer needs that expert once.
struct ExpertCacheStats {
  int64_t slots = 0;            // configuration: slots in the cache
  uint64_t slot_bytes = 0;      //   and the bytes of each
  int64_t total_experts = 0;    //   experts in the model (layers x experts per layer)
  int64_t tokens = 0;           // tokens computed
  int64_t lookups = 0;          // experts needed, once per layer and forward pass
  int64_t hits = 0;             // ... found in the cache, loaded for an earlier pass
  int64_t prefetch_hits = 0;    // ... found in the cache or being read thanks to a prediction
  int64_t predictions = 0;      // experts predicted (likely) for the next layer
  int64_t predictions_used = 0; // ... that the layer then needed
  int64_t prefetch_reads = 0;   // reads started for predictions
  int64_t prefetch_wasted = 0;  // ... evicted before any use
  int64_t reads = 0;            // experts read from the model file (all reasons)
  uint64_t bytes_read = 0;      // bytes read from the model file
  double read_seconds = 0;      // time spent in reads (on any thread)
  double stall_seconds = 0;     // time the forward pass waited for expert data

  int64_t misses() const { return lookups - hits - prefetch_hits; }
  // Share of the needed experts that did not have to be read on demand.
  double hit_rate() const { return lookups ? static_cast<double>(hits + prefetch_hits) / lookups : 0; }
  double prefetch_accuracy() const { return predictions ? static_cast<double>(predictions_used) / predictions : 0; }
  double bytes_per_token() const { return tokens ? static_cast<double>(bytes_read) / tokens : 0; }
  double read_gbps() const { return read_seconds > 0 ? bytes_read / read_seconds / 1e9 : 0; }
};

class ExpertSource {
 public:
  virtual ~ExpertSource() = default;

  // A batch of n_tokens has been routed in `layer` and needs `experts` (ascending, each once).
  // The source may start reading all of them so that reads overlap the computation.
  virtual void plan(int64_t layer, int64_t n_tokens, std::span<const int32_t> experts) = 0;
  // A guess at the experts `layer` will need (its router applied early to the hidden state):
  // `likely` (each token's first choice) may be read ahead, and those of `possible` (each
  // token's top-k) already in memory are worth keeping until plan(layer). A wrong guess costs
  // only bandwidth.
  virtual void predict(int64_t layer, std::span<const int32_t> likely, std::span<const int32_t> possible) = 0;
  // The weights of (layer, expert), valid and unchanged until the matching release().
  // Throws smoe::Error when they cannot be read.
  virtual const ExpertWeights& acquire(int64_t layer, int32_t expert) = 0;
  virtual void release(int64_t layer, int32_t expert) = 0;

  virtual ExpertCacheStats stats() const = 0;
  virtual void reset_stats() = 0;
};

}  // namespace smoe

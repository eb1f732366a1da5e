// The expert cache: runs models whose experts do not fit in memory. Non-expert weights stay in
// the mapping (resident); experts live in a fixed number of equal slots filled by explicit reads
// of the model file (O_DIRECT, or reads followed by POSIX_FADV_DONTNEED), so the page cache never
// holds a second copy and the expert regions of the mapping are never touched.
//
// Per layer and forward pass (see ExpertSource): plan() learns the experts the batch needs and
// queues the missing ones for the I/O thread, so each is read once per layer and reads overlap
// the products of experts already there; predict() queues the next layer's likely experts
// behind them. acquire() pins a slot (a pinned slot is never evicted) and waits only when its
// data is not there yet; a miss the I/O thread could not take (no free slot) is read by the
// calling thread itself. Evictions follow ResidencyPolicy (per-layer quotas, LRU or decayed
// frequency). The weights handed out are the file's bytes, so results are bit-identical to the
// resident model at any cache size.
//
// Thread safety: every member may be called from several threads (e.g. several sessions of a
// server); one mutex guards the bookkeeping, and no lock is held during a read.
#pragma once

#include "cache/cache_size.h"
#include "cache/direct_file.h"
#include "cache/residency_policy.h"
#include "model/expert_source.h"
#include "model/model.h"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace smoe {

struct ExpertCacheOptions {
  ExpertCacheBudget budget;  // required
  EvictionPolicy policy = EvictionPolicy::Frequency;  // measured best on real routing (README)
  bool prefetch = true;      // read predicted experts ahead
  double half_life = 16;     // for EvictionPolicy::Frequency, in passes through a layer
};

class ExpertCache final : public ExpertSource {
 public:
  // Locates every expert in the model's files and validates the ranges; throws smoe::Error when
  // the budget is smaller than one expert or a range lies outside its file.
  ExpertCache(const Model& model, const ExpertCacheOptions& options);
  ~ExpertCache() override;

  void plan(int64_t layer, int64_t n_tokens, std::span<const int32_t> experts) override;
  void predict(int64_t layer, std::span<const int32_t> likely, std::span<const int32_t> possible) override;
  const ExpertWeights& acquire(int64_t layer, int32_t expert) override;
  void release(int64_t layer, int32_t expert) override;
  ExpertCacheStats stats() const override;
  void reset_stats() override;

  int64_t slots() const { return static_cast<int64_t>(slots_.size()); }
  uint64_t slot_bytes() const { return slot_bytes_; }
  // "expert cache: 12 slots of 1.2 MiB (25% of 48 experts), lru, prefetch, O_DIRECT"
  std::string describe() const;

 private:
  struct Piece {  // one matrix of an expert: where in which file, and where in a slot
    size_t file = 0;
    uint64_t offset = 0, size = 0, slot_offset = 0;
  };
  struct ExpertLayout {
    Piece pieces[3];        // gate, up, down
    ExpertWeights weights;  // shapes and types (data pointers are the mapping's; never read)
  };
  enum class SlotState { Empty, Loading, Ready };
  struct Slot {
    uint8_t* memory = nullptr;  // slot_bytes_, kAlign-aligned
    SlotState state = SlotState::Empty;
    int64_t key = -1;           // layer * n_expert + expert
    int pins = 0;
    bool unused_prefetch = false;  // read for a prediction, not used yet
    ExpertWeights weights;         // views into memory
  };

  const Model& model_;
  ExpertCacheOptions options_;
  int64_t n_layer_, n_expert_;
  std::vector<std::unique_ptr<DirectFile>> files_;
  std::vector<ExpertLayout> layout_;  // [key]
  uint64_t slot_bytes_ = 0;
  std::vector<Slot> slots_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // a slot finished loading or was unpinned
  std::condition_variable work_;     // reads were queued, or stopping
  std::vector<int64_t> slot_of_;     // [key] -> slot, or -1
  std::vector<char> wanted_;         // [key]: planned or predicted for the current pass, not acquired yet
  std::vector<char> queued_;         // [key]: in urgent_ or speculative_
  std::deque<int64_t> urgent_;       // needed by the layer being computed
  std::deque<int64_t> speculative_;  // predicted for the next layer
  std::vector<std::vector<int32_t>> predicted_;  // [layer]: the last prediction, for accuracy
  ResidencyPolicy policy_;
  ExpertCacheStats stats_;
  bool stopping_ = false;
  std::thread io_thread_;

  int64_t key(int64_t layer, int32_t expert) const { return layer * n_expert_ + expert; }
  void locate_experts();
  void keep_experts_out_of_mapping(const std::vector<Model::MappedRegion>& regions) const;
  // Under the lock: a slot for `k`, marked Loading, or -1 when none can be freed. `strict` keeps
  // experts that are planned or prefetched and not used yet.
  int64_t start_load(int64_t k, bool strict);
  // Without the lock: reads expert `k` into slot s; returns the seconds it took.
  double read_into(int64_t s, int64_t k);
  // Under the lock: ends a load started by start_load.
  void finish_load(int64_t s, bool ok, double seconds);
  void unqueue(int64_t k);
  void io_loop();
};

}  // namespace smoe

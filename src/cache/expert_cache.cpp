// The expert cache (see expert_cache.h).
#include "cache/expert_cache.h"

#include "core/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>

namespace smoe {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

ExpertCache::ExpertCache(const Model& model, const ExpertCacheOptions& options)
    : model_(model),
      options_(options),
      n_layer_(model.config().n_layer),
      n_expert_(model.config().experts_per_layer()),
      policy_(options.policy, n_layer_, n_expert_, 1, options.half_life) {
  locate_experts();
  const int64_t total = n_layer_ * n_expert_;
  const int64_t n_slots = slots_for_budget(options.budget, slot_bytes_, total);
  policy_ = ResidencyPolicy(options.policy, n_layer_, n_expert_, n_slots, options.half_life);
  slots_.resize(n_slots);
  for (Slot& s : slots_) {
    // Untouched pages of a large allocation take no memory, so the budget is spent as it fills.
    s.memory = static_cast<uint8_t*>(std::aligned_alloc(DirectFile::kAlign, slot_bytes_));
    if (!s.memory) fail("out of memory allocating the expert cache ({} slots of {} bytes)", n_slots, slot_bytes_);
  }
  slot_of_.assign(total, -1);
  wanted_.assign(total, 0);
  queued_.assign(total, 0);
  predicted_.resize(n_layer_);
  stats_.slots = n_slots;
  stats_.slot_bytes = slot_bytes_;
  stats_.total_experts = total;
  io_thread_ = std::thread([this] { io_loop(); });
}

ExpertCache::~ExpertCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  io_thread_.join();
  for (Slot& s : slots_) std::free(s.memory);
}

void ExpertCache::locate_experts() {
  const std::vector<Model::MappedRegion> regions = model_.mapped_files();
  for (const Model::MappedRegion& r : regions) {
    files_.push_back(std::make_unique<DirectFile>(r.path));
    if (files_.back()->size() < r.size)
      fail("{}: the file has {} bytes but had {} when the model was loaded (changed since?)", r.path,
           files_.back()->size(), r.size);
  }
  layout_.resize(n_layer_ * n_expert_);
  for (int64_t il = 0; il < n_layer_; ++il) {
    for (int32_t e = 0; e < n_expert_; ++e) {
      ExpertLayout& x = layout_[key(il, e)];
      x.weights = model_.weights().layers[il].experts[e];
      const Matrix* mats[3] = {&x.weights.gate, &x.weights.up, &x.weights.down};
      uint64_t slot_offset = 0;
      for (int i = 0; i < 3; ++i) {
        const Matrix& m = *mats[i];
        Piece& p = x.pieces[i];
        p.size = m.n_bytes();
        size_t f = 0;
        while (f < regions.size() && !(m.data >= regions[f].data && m.data < regions[f].data + regions[f].size)) ++f;
        if (f == regions.size())
          fail("{}: expert {} of layer {} is not inside any of the model's files", model_.path(), e, il);
        p.file = f;
        p.offset = static_cast<uint64_t>(m.data - regions[f].data);
        if (p.size > regions[f].size - p.offset)
          fail("{}: expert {} of layer {} runs past the end of the file", regions[f].path, e, il);
        p.slot_offset = slot_offset;
        slot_offset += DirectFile::buffer_bytes(p.offset, p.size);
      }
      slot_bytes_ = std::max(slot_bytes_, slot_offset);
    }
  }
  keep_experts_out_of_mapping(regions);
}

void ExpertCache::keep_experts_out_of_mapping(const std::vector<Model::MappedRegion>& regions) const {
  // A page fault in the mapping normally reads the pages around it too, which would pull the
  // edges of neighbouring expert tensors into the page cache. Random access turns that off; the
  // non-expert weights (all used on every token) are then read ahead explicitly, range by range.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (size_t f = 0; f < regions.size(); ++f) {
    uint8_t* base = const_cast<uint8_t*>(regions[f].data);
    if (!base) continue;
    madvise(base, regions[f].size, MADV_RANDOM);
    std::vector<std::pair<uint64_t, uint64_t>> experts;  // [begin, end) byte ranges
    for (const ExpertLayout& x : layout_)
      for (const Piece& p : x.pieces)
        if (p.file == f) experts.push_back({p.offset, p.offset + p.size});
    std::sort(experts.begin(), experts.end());
    // Whatever an earlier run or the file's writer left in the page cache is dropped, so the only
    // copies of experts in memory are the cache's. The whole file is dropped, not the expert
    // ranges: the page cache keeps large folios that straddle tensor boundaries, which a partial
    // range cannot drop. Pages this process has mapped cannot be dropped either: unmap them first
    // (the norms were copied at load; anything else faults back in from the file).
    madvise(base, regions[f].size, MADV_DONTNEED);
    files_[f]->drop_cached(0, regions[f].size);
    uint64_t pos = 0;
    auto resident = [&](uint64_t begin, uint64_t end) {
      begin = begin / page * page;
      if (end > begin) madvise(base + begin, end - begin, MADV_WILLNEED);
    };
    for (const auto& [begin, end] : experts) {
      if (begin > pos) resident(pos, begin);
      pos = std::max(pos, end);
    }
    if (pos < regions[f].size) resident(pos, regions[f].size);
  }
}

std::string ExpertCache::describe() const {
  const double mib = slot_bytes_ / (1024.0 * 1024);
  const int64_t total = n_layer_ * n_expert_;
  return fmt::format("expert cache: {} slot{} of {:.1f} MiB ({:.2f} GiB, {:.0f}% of {} experts), {}{}, {}",
                     slots(), slots() == 1 ? "" : "s", mib, slots() * mib / 1024, 100.0 * slots() / total, total,
                     eviction_policy_name(options_.policy), options_.prefetch ? ", prefetch" : ", no prefetch",
                     files_.empty() || files_[0]->direct() ? "O_DIRECT reads" : "buffered reads + FADV_DONTNEED");
}

int64_t ExpertCache::start_load(int64_t k, bool strict) {
  int64_t s = -1;
  for (size_t i = 0; i < slots_.size() && s < 0; ++i)
    if (slots_[i].state == SlotState::Empty) s = static_cast<int64_t>(i);
  if (s < 0) {
    const ResidencyPolicy::Key v = policy_.victim(k / n_expert_, [&](int64_t l, int32_t e) {
      const int64_t vk = key(l, e);
      const Slot& slot = slots_[slot_of_[vk]];
      return slot.state == SlotState::Ready && slot.pins == 0 && (!strict || (!wanted_[vk] && !slot.unused_prefetch));
    });
    if (!v.valid()) return -1;
    const int64_t vk = key(v.layer, v.expert);
    s = slot_of_[vk];
    if (slots_[s].unused_prefetch) stats_.prefetch_wasted++;
    slot_of_[vk] = -1;
    policy_.evicted(v.layer, v.expert);
  }
  Slot& slot = slots_[s];
  slot.state = SlotState::Loading;
  slot.key = k;
  slot.pins = 0;
  slot.unused_prefetch = false;
  slot_of_[k] = s;
  policy_.inserted(k / n_expert_, static_cast<int32_t>(k % n_expert_));
  return s;
}

double ExpertCache::read_into(int64_t s, int64_t k) {
  const auto t0 = Clock::now();
  Slot& slot = slots_[s];
  const ExpertLayout& x = layout_[k];
  ExpertWeights w = x.weights;
  Matrix* mats[3] = {&w.gate, &w.up, &w.down};
  static const char* names[3] = {"gate", "up", "down"};
  for (int i = 0; i < 3; ++i) {
    const Piece& p = x.pieces[i];
    const std::string what = fmt::format("the {} matrix of expert {} in layer {}", names[i], k % n_expert_, k / n_expert_);
    mats[i]->data = files_[p.file]->read(p.offset, p.size, slot.memory + p.slot_offset, what);
  }
  slot.weights = w;  // the slot is Loading: nobody else reads it
  return seconds_since(t0);
}

void ExpertCache::finish_load(int64_t s, bool ok, double seconds) {
  Slot& slot = slots_[s];
  if (ok) {
    slot.state = SlotState::Ready;
    stats_.reads++;
    stats_.bytes_read += layout_[slot.key].weights.n_bytes();
    stats_.read_seconds += seconds;
  } else {
    slot_of_[slot.key] = -1;
    policy_.evicted(slot.key / n_expert_, static_cast<int32_t>(slot.key % n_expert_));
    slot.state = SlotState::Empty;
    slot.key = -1;
  }
  changed_.notify_all();
}

void ExpertCache::unqueue(int64_t k) {
  if (!queued_[k]) return;
  queued_[k] = 0;
  for (std::deque<int64_t>* q : {&urgent_, &speculative_}) q->erase(std::remove(q->begin(), q->end(), k), q->end());
}

void ExpertCache::plan(int64_t layer, int64_t n_tokens, std::span<const int32_t> experts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (layer == 0) stats_.tokens += n_tokens;
  policy_.begin_pass(layer);
  std::vector<char> needed(n_expert_, 0);
  for (int32_t e : experts) needed[e] = 1;
  for (int32_t e : predicted_[layer]) stats_.predictions_used += needed[e];
  predicted_[layer].clear();
  for (int32_t e = 0; e < n_expert_; ++e) {
    const int64_t k = key(layer, e);
    wanted_[k] = needed[e];
    if (!needed[e]) unqueue(k);  // a wrong guess not read yet costs nothing
  }
  bool queued = false;
  for (int32_t e : experts) {
    const int64_t k = key(layer, e);
    policy_.touch(layer, e);
    stats_.lookups++;
    if (const int64_t s = slot_of_[k]; s >= 0) {
      (slots_[s].unused_prefetch ? stats_.prefetch_hits : stats_.hits)++;
      continue;
    }
    unqueue(k);
    urgent_.push_back(k);
    queued_[k] = 1;
    queued = true;
  }
  if (queued) work_.notify_one();  // no wake-up (a context switch) when everything was there
}

void ExpertCache::predict(int64_t layer, std::span<const int32_t> likely, std::span<const int32_t> possible) {
  std::lock_guard<std::mutex> lock(mu_);
  predicted_[layer].assign(likely.begin(), likely.end());
  stats_.predictions += static_cast<int64_t>(likely.size());
  if (!options_.prefetch) return;
  // The possible experts already resident are kept until the layer's plan() says what it really
  // needs: otherwise reading a likely expert could evict another the layer is about to use
  // (with two slots for a layer, C read ahead would often replace a resident second choice).
  for (int32_t e : possible) wanted_[key(layer, e)] = 1;
  bool queued = false;
  for (int32_t e : likely) {
    const int64_t k = key(layer, e);
    if (slot_of_[k] >= 0 || queued_[k]) continue;
    speculative_.push_back(k);
    queued_[k] = 1;
    queued = true;
  }
  if (queued) work_.notify_one();
}

const ExpertWeights& ExpertCache::acquire(int64_t layer, int32_t expert) {
  const int64_t k = key(layer, expert);
  std::unique_lock<std::mutex> lock(mu_);
  const auto t0 = Clock::now();
  bool stalled = false;
  int64_t s = -1;
  for (;;) {
    s = slot_of_[k];
    if (s >= 0) {
      if (slots_[s].state == SlotState::Ready) break;
      stalled = true;  // being read by the I/O thread or another pass
      changed_.wait(lock);
      continue;
    }
    // Not there and not being read: read it here rather than wait for the queue.
    unqueue(k);
    s = start_load(k, true);
    if (s < 0) s = start_load(k, false);
    if (s < 0) {  // every slot is pinned or loading: wait for one
      stalled = true;
      changed_.wait(lock);
      continue;
    }
    stalled = true;
    lock.unlock();
    double seconds = 0;
    try {
      seconds = read_into(s, k);
    } catch (...) {
      lock.lock();
      finish_load(s, false, 0);
      throw;
    }
    lock.lock();
    finish_load(s, true, seconds);
    break;
  }
  Slot& slot = slots_[s];
  slot.pins++;
  slot.unused_prefetch = false;
  wanted_[k] = 0;
  if (stalled) stats_.stall_seconds += seconds_since(t0);
  return slot.weights;
}

void ExpertCache::release(int64_t layer, int32_t expert) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t s = slot_of_[key(layer, expert)];
  if (s >= 0 && --slots_[s].pins == 0) changed_.notify_all();
}

void ExpertCache::io_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (urgent_.empty() && speculative_.empty()) {
      work_.wait(lock);
      continue;
    }
    const bool speculative = urgent_.empty();
    std::deque<int64_t>& q = speculative ? speculative_ : urgent_;
    const int64_t k = q.front();
    q.pop_front();
    queued_[k] = 0;
    if (slot_of_[k] >= 0) continue;
    // Only slots nobody is about to use are taken; a needed expert that finds none is read
    // by the forward pass itself when it gets there.
    const int64_t s = start_load(k, true);
    if (s < 0) continue;
    if (speculative) {
      slots_[s].unused_prefetch = true;
      stats_.prefetch_reads++;
    }
    lock.unlock();
    double seconds = 0;
    bool ok = true;
    try {
      seconds = read_into(s, k);
    } catch (const std::exception&) {
      ok = false;  // the forward pass reads it again on demand and reports the error
    }
    lock.lock();
    finish_load(s, ok, seconds);
  }
}

ExpertCacheStats ExpertCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ExpertCache::reset_stats() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpertCacheStats fresh;
  fresh.slots = stats_.slots;
  fresh.slot_bytes = stats_.slot_bytes;
  fresh.total_experts = stats_.total_experts;
  stats_ = fresh;
}

}  // namespace smoe

// `smoe bench`: prompt processing speed, decode speed at batch 1 and batch B, the bytes of
// weights each decoded token reads, and the machine's measured read bandwidth in the same run,
// giving the roofline fraction. Medians over repetitions.
#pragma once

#include "model/expert_source.h"
#include "model/model.h"

#include <cstdint>
#include <functional>
#include <string>

namespace smoe {

struct BenchOptions {
  int64_t prompt_tokens = 512;
  int64_t decode_tokens = 128;
  int64_t batch = 8;  // 0 or 1: skip the batched measurement
  int repetitions = 3;
  int threads = 1;
  uint64_t seed = 1;
};

struct BenchResult {
  double prompt_tokens_per_s = 0;
  double decode_tokens_per_s = 0;
  double batch_decode_tokens_per_s = 0;  // aggregate over the batch
  uint64_t bytes_per_token = 0;          // weights read per decoded token at batch 1
  uint64_t batch_bytes_per_step = 0;     // weights read per batched step
  double achieved_gbps = 0;              // bytes_per_token x decode speed
  double batch_bound_tokens_per_s = 0;   // bandwidth / bytes per step x batch
  double read_bandwidth_gbps = 0;
  double roofline_fraction = 0;          // achieved / read bandwidth
  uint64_t peak_rss_bytes = 0;
  // Sequential O_DIRECT read bandwidth of the model file (up to 2 GiB of it; 0 if smaller than
  // 64 MiB): what a model larger than memory can stream from disk.
  double disk_read_gbps = 0;
  // With an expert cache: what it did during the prompt and the batch-1 decode phases.
  bool expert_cache = false;
  ExpertCacheStats prompt_cache, decode_cache;
};

// progress(message) is called before each phase.
BenchResult run_bench(const Model& model, const BenchOptions& options,
                      const std::function<void(const std::string&)>& progress = {});

}  // namespace smoe

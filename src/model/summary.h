// Facts about a loaded model for people: parameter counts (total and active per token), sizes
// by weight type, memory needed.
#pragma once

#include "model/model.h"

#include <cstdint>
#include <map>
#include <string>

namespace smoe {

struct ModelSummary {
  struct TypeUse {
    int64_t tensors = 0;
    int64_t parameters = 0;
    uint64_t bytes = 0;
  };
  int64_t total_parameters = 0;
  int64_t active_parameters = 0;   // read per token: all but the experts the router skips
  int64_t expert_parameters = 0;   // one expert of one layer
  uint64_t weight_bytes = 0;       // tensor data in the file
  uint64_t active_weight_bytes = 0;  // weights read per decoded token
  uint64_t kv_bytes_per_token = 0;   // float32 keys and values of all layers
  std::map<std::string, TypeUse> by_type;
};

ModelSummary summarize(const Model& model);

}  // namespace smoe

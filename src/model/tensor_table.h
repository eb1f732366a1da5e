// The tensors of a model file, whatever its format, in one form: ggml dimension order (ne[0] is
// the row length), a ggml type, and bytes in the mapping. Loaders fill it; the weight mapper and
// the summary read it.
#pragma once

#include "kernels/ggml_type.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace smoe {

struct TensorRef {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  // innermost first
  int64_t n_elements = 0;
  size_t n_bytes = 0;
  const uint8_t* data = nullptr;

  int64_t dim(size_t i) const { return i < ne.size() ? ne[i] : 1; }
};

class TensorTable {
 public:
  void add(TensorRef t) { order_.push_back(t.name), by_name_.emplace(order_.back(), std::move(t)); }
  const TensorRef* find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
  }
  // In file order.
  std::vector<const TensorRef*> all() const {
    std::vector<const TensorRef*> v;
    for (const auto& n : order_) v.push_back(&by_name_.at(n));
    return v;
  }
  size_t size() const { return order_.size(); }

 private:
  std::vector<std::string> order_;
  std::map<std::string, TensorRef, std::less<>> by_name_;
};

}  // namespace smoe

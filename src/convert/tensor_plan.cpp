// Output tensors of a conversion: names, shapes, sources, RoPE permutation.
#include "convert/tensor_plan.h"

#include "core/error.h"
#include "model/weight_mapper.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace smoe {
namespace {

// The block index of a "blk.N." tensor name, -1 for the others.
int64_t layer_of(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int64_t layer = 0;
  const auto [end, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), layer);
  return ec == std::errc() && end != name.data() + 4 && *end == '.' ? layer : -1;
}

class Planner {
 public:
  explicit Planner(const Model& model)
      : model_(model),
        config_(model.config()),
        source_naming_(model.hf() ? hf_naming() : gguf_naming()),
        out_naming_(gguf_naming()),
        // HF checkpoints rotate halves; llama.cpp (and smoe's GGUF loader) expects adjacent pairs.
        permute_rope_(config_.rope_style == RopeStyle::Halves) {}

  std::vector<PlannedTensor> plan() {
    add(out_naming_.token_embd, source_naming_.token_embd, {TensorRole::TokenEmbd});
    for (int64_t il = 0; il < config_.n_layer; ++il) plan_layer(il);
    add(out_naming_.output_norm, source_naming_.output_norm, {TensorRole::Norm});
    if (!model_.weights().tied_output) add(out_naming_.output, source_naming_.output, {TensorRole::Output});
    if (model_.gguf()) {
      add_unmapped_gguf_tensors();
      // llama-quantize's order (whole-model tensors, then block by block, by name within each),
      // so re-quantizing a GGUF gives the very file llama.cpp would write.
      std::stable_sort(planned_.begin(), planned_.end(), [](const PlannedTensor& a, const PlannedTensor& b) {
        const int64_t la = layer_of(a.name), lb = layer_of(b.name);
        return la != lb ? la < lb : a.name < b.name;
      });
    }
    return std::move(planned_);
  }

 private:
  const Model& model_;
  const ModelConfig& config_;
  const TensorNaming& source_naming_;
  const TensorNaming& out_naming_;
  const bool permute_rope_;
  std::vector<PlannedTensor> planned_;
  std::set<std::string, std::less<>> used_;

  const TensorRef& source(const std::string& name) {
    const TensorRef* t = model_.tensors().find(name);
    // Model::load has checked every canonical tensor, so this is a broken invariant.
    if (!t) fail("{}: missing tensor '{}'", model_.path(), name);
    used_.insert(name);
    return *t;
  }

  void add(const std::string& out_name, const std::string& source_name, TensorFacts facts,
           int64_t rope_heads = 0) {
    const TensorRef& t = source(source_name);
    PlannedTensor p;
    p.name = out_name;
    p.ne = t.ne;
    p.sources = {&t};
    p.rope_heads = permute_rope_ ? rope_heads : 0;
    facts.n_dims = static_cast<int>(t.ne.size());
    facts.row_length = t.ne[0];
    p.facts = facts;
    planned_.push_back(std::move(p));
  }

  // One [cols, rows, n_expert] tensor from a stacked source, or from one source per expert.
  void add_experts(int64_t il, std::string_view part, TensorRole role) {
    const std::string stacked = source_naming_.stacked_experts(il, part);
    if (!stacked.empty() && model_.tensors().find(stacked)) {
      add(out_naming_.stacked_experts(il, part), stacked, {role, il});
      return;
    }
    PlannedTensor p;
    p.name = out_naming_.stacked_experts(il, part);
    for (int64_t e = 0; e < config_.n_expert; ++e) p.sources.push_back(&source(source_naming_.expert(il, e, part)));
    const TensorRef& first = *p.sources.front();
    p.ne = {first.dim(0), first.dim(1), config_.n_expert};
    p.facts = {role, il, 3, first.dim(0)};
    planned_.push_back(std::move(p));
  }

  void plan_layer(int64_t il) {
    auto layer = [&](std::string_view part, TensorFacts facts, int64_t rope_heads = 0) {
      add(out_naming_.layer(il, part), source_naming_.layer(il, part), facts, rope_heads);
    };
    layer("attn_norm", {TensorRole::Norm, il});
    layer("attn_q", {TensorRole::AttnQ, il}, config_.n_head);
    layer("attn_k", {TensorRole::AttnK, il}, config_.n_kv_head);
    layer("attn_v", {TensorRole::AttnV, il});
    layer("attn_output", {TensorRole::AttnOutput, il});
    layer("ffn_norm", {TensorRole::Norm, il});
    if (!config_.is_moe()) {
      layer("ffn_gate", {TensorRole::FfnGate, il});
      layer("ffn_up", {TensorRole::FfnUp, il});
      layer("ffn_down", {TensorRole::FfnDown, il});
      return;
    }
    layer("ffn_gate_inp", {TensorRole::Router, il});
    add_experts(il, "ffn_gate", TensorRole::FfnGate);
    add_experts(il, "ffn_up", TensorRole::FfnUp);
    add_experts(il, "ffn_down", TensorRole::FfnDown);
  }

  void add_unmapped_gguf_tensors() {
    for (const TensorRef* t : model_.tensors().all()) {
      if (used_.count(t->name)) continue;
      // Outside smoe's schema (rope_freqs, ...): llama.cpp's loader may expect it, as it is.
      PlannedTensor p;
      p.name = t->name;
      p.ne = t->ne;
      p.sources = {t};
      p.copy_verbatim = true;
      p.type = t->type;
      p.facts = {TensorRole::Other, -1, static_cast<int>(t->ne.size()), t->ne[0]};
      planned_.push_back(std::move(p));
    }
  }
};

}  // namespace

int64_t PlannedTensor::n_rows() const {
  int64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
  return rows;
}

size_t PlannedTensor::n_bytes() const { return row_bytes(type, ne[0]) * static_cast<size_t>(n_rows()); }

uint64_t PlannedTensor::source_bytes() const {
  uint64_t bytes = 0;
  for (const TensorRef* t : sources) bytes += t->n_bytes;
  return bytes;
}

std::vector<PlannedTensor> plan_tensors(const Model& model) { return Planner(model).plan(); }

int64_t source_row(int64_t row, int64_t rows_per_source, int64_t rope_heads) {
  if (rope_heads <= 0) return row;
  const int64_t head_rows = rows_per_source / rope_heads;
  const int64_t half = head_rows / 2;
  const int64_t head = row / head_rows, within = row % head_rows;
  // Output rows (2i, 2i+1) of a head are the source's rows (i, i + half).
  return head * head_rows + (within % 2 == 0 ? within / 2 : half + within / 2);
}

}  // namespace smoe

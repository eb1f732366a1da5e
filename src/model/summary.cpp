// Parameter and byte accounting over the tensors of a model file.
#include "model/summary.h"

namespace smoe {

ModelSummary summarize(const Model& model) {
  ModelSummary s;
  const ModelConfig& c = model.config();
  for (const TensorRef* t : model.tensors().all()) {
    auto& use = s.by_type[std::string(type_name(t->type))];
    use.tensors++;
    use.parameters += t->n_elements;
    use.bytes += t->n_bytes;
    s.total_parameters += t->n_elements;
    s.weight_bytes += t->n_bytes;
  }
  s.active_parameters = s.total_parameters;
  s.active_weight_bytes = s.weight_bytes;
  if (c.is_moe() && !model.weights().layers.empty()) {
    s.expert_parameters = 3 * c.hidden * c.dim;
    const int64_t idle = c.n_expert - c.n_expert_used;
    s.active_parameters -= c.n_layer * idle * s.expert_parameters;
    // Bytes: experts may differ in type across layers, so sum per layer.
    for (const LayerWeights& l : model.weights().layers) s.active_weight_bytes -= idle * l.experts[0].n_bytes();
  }
  // The embedding table is read one row per token, not whole.
  const Matrix& e = model.weights().token_embd;
  if (!model.weights().tied_output) s.active_weight_bytes -= e.n_bytes() - e.row_bytes;
  s.kv_bytes_per_token = 2ull * c.n_layer * c.kv_dim() * sizeof(float);
  return s;
}

}  // namespace smoe

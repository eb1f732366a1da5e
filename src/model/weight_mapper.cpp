// Canonical weights from a tensor table: shape checks, expert slicing, tied embeddings.
#include "model/weight_mapper.h"

#include "core/error.h"
#include "kernels/kernels.h"

#include <fmt/format.h>

#include <map>

namespace smoe {
namespace {

struct GgufNaming : TensorNaming {
  GgufNaming() {
    token_embd = "token_embd.weight";
    output = "output.weight";
    output_norm = "output_norm.weight";
  }
  std::string layer(int64_t il, std::string_view part) const override { return fmt::format("blk.{}.{}.weight", il, part); }
  std::string expert(int64_t il, int64_t e, std::string_view part) const override {
    return fmt::format("blk.{}.{}.{}.weight", il, part, e);
  }
  std::string stacked_experts(int64_t il, std::string_view part) const override {
    return fmt::format("blk.{}.{}_exps.weight", il, part);
  }
};

struct HfNaming : TensorNaming {
  HfNaming() {
    token_embd = "model.embed_tokens.weight";
    output = "lm_head.weight";
    output_norm = "model.norm.weight";
  }
  std::string layer(int64_t il, std::string_view part) const override {
    static const std::map<std::string_view, std::string_view> names = {
        {"attn_norm", "input_layernorm"},       {"attn_q", "self_attn.q_proj"},
        {"attn_k", "self_attn.k_proj"},         {"attn_v", "self_attn.v_proj"},
        {"attn_output", "self_attn.o_proj"},    {"ffn_norm", "post_attention_layernorm"},
        {"ffn_gate_inp", "block_sparse_moe.gate"}, {"ffn_gate", "mlp.gate_proj"},
        {"ffn_up", "mlp.up_proj"},              {"ffn_down", "mlp.down_proj"},
    };
    return fmt::format("model.layers.{}.{}.weight", il, names.at(part));
  }
  std::string expert(int64_t il, int64_t e, std::string_view part) const override {
    const char* w = part == "ffn_gate" ? "w1" : part == "ffn_up" ? "w3" : "w2";
    return fmt::format("model.layers.{}.block_sparse_moe.experts.{}.{}.weight", il, e, w);
  }
  std::string stacked_experts(int64_t, std::string_view) const override { return ""; }
};

class WeightMapper {
 public:
  WeightMapper(const TensorTable& t, const TensorNaming& n, const ModelConfig& c, const std::string& source)
      : t_(t), n_(n), c_(c), source_(source) {}

  ModelWeights map(bool tied) const {
    ModelWeights w;
    w.token_embd = matrix(n_.token_embd, c_.vocab, c_.dim);
    w.output_norm = vector(n_.output_norm, c_.dim);
    if (!tied && t_.find(n_.output)) {
      w.output = matrix(n_.output, c_.vocab, c_.dim);
    } else {
      w.output = w.token_embd;
      w.tied_output = true;
    }
    w.layers.resize(c_.n_layer);
    for (int64_t il = 0; il < c_.n_layer; ++il) map_layer(il, w.layers[il]);
    return w;
  }

 private:
  const TensorTable& t_;
  const TensorNaming& n_;
  const ModelConfig& c_;
  const std::string& source_;

  const TensorRef& tensor(const std::string& name) const {
    const TensorRef* t = t_.find(name);
    if (!t) fail("{}: missing tensor '{}'", source_, name);
    if (!type_info(t->type).computable)
      fail("{}: tensor '{}' has type {}, which smoe cannot compute with", source_, name, type_name(t->type));
    return *t;
  }

  void expect_shape(const TensorRef& t, std::initializer_list<int64_t> ne) const {
    bool ok = t.ne.size() <= 4;
    size_t i = 0;
    for (int64_t n : ne) ok = ok && t.dim(i++) == n;
    for (; i < 4; ++i) ok = ok && t.dim(i) == 1;
    if (!ok) {
      std::string got, want;
      for (size_t k = 0; k < t.ne.size(); ++k) got += (k ? ", " : "") + std::to_string(t.ne[k]);
      i = 0;
      for (int64_t n : ne) want += (i++ ? ", " : "") + std::to_string(n);
      fail("{}: tensor '{}' has shape [{}], expected [{}] (innermost first) from the model's config", source_,
           t.name, got, want);
    }
  }

  static Matrix view(const TensorRef& t, int64_t n_rows, int64_t n_cols, int64_t slice = 0) {
    Matrix m;
    m.type = t.type;
    m.n_rows = n_rows;
    m.n_cols = n_cols;
    m.row_bytes = row_bytes(t.type, n_cols);
    m.data = t.data + m.row_bytes * static_cast<size_t>(n_rows) * static_cast<size_t>(slice);
    return m;
  }

  // A 2-D weight of n_rows rows of n_cols (ggml ne = [n_cols, n_rows]).
  Matrix matrix(const std::string& name, int64_t n_rows, int64_t n_cols) const {
    const TensorRef& t = tensor(name);
    expect_shape(t, {n_cols, n_rows});
    return view(t, n_rows, n_cols);
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    const TensorRef& t = tensor(name);
    expect_shape(t, {n});
    std::vector<float> v(n);
    reference_kernels(t.type).dequantize_row(t.data, v.data(), n);
    return v;
  }

  void map_layer(int64_t il, LayerWeights& l) const {
    l.attn_norm = vector(n_.layer(il, "attn_norm"), c_.dim);
    l.wq = matrix(n_.layer(il, "attn_q"), c_.q_dim(), c_.dim);
    l.wk = matrix(n_.layer(il, "attn_k"), c_.kv_dim(), c_.dim);
    l.wv = matrix(n_.layer(il, "attn_v"), c_.kv_dim(), c_.dim);
    l.wo = matrix(n_.layer(il, "attn_output"), c_.dim, c_.q_dim());
    l.ffn_norm = vector(n_.layer(il, "ffn_norm"), c_.dim);
    if (!c_.is_moe()) {
      l.experts.push_back({matrix(n_.layer(il, "ffn_gate"), c_.hidden, c_.dim),
                           matrix(n_.layer(il, "ffn_up"), c_.hidden, c_.dim),
                           matrix(n_.layer(il, "ffn_down"), c_.dim, c_.hidden)});
      return;
    }
    l.router = matrix(n_.layer(il, "ffn_gate_inp"), c_.n_expert, c_.dim);
    const std::string stacked_gate = n_.stacked_experts(il, "ffn_gate");
    if (!stacked_gate.empty() && t_.find(stacked_gate)) {
      auto slices = [&](std::string_view part, int64_t rows, int64_t cols) {
        const TensorRef& t = tensor(n_.stacked_experts(il, part));
        expect_shape(t, {cols, rows, c_.n_expert});
        std::vector<Matrix> out;
        for (int64_t e = 0; e < c_.n_expert; ++e) out.push_back(view(t, rows, cols, e));
        return out;
      };
      auto gate = slices("ffn_gate", c_.hidden, c_.dim);
      auto up = slices("ffn_up", c_.hidden, c_.dim);
      auto down = slices("ffn_down", c_.dim, c_.hidden);
      for (int64_t e = 0; e < c_.n_expert; ++e) l.experts.push_back({gate[e], up[e], down[e]});
      return;
    }
    for (int64_t e = 0; e < c_.n_expert; ++e)
      l.experts.push_back({matrix(n_.expert(il, e, "ffn_gate"), c_.hidden, c_.dim),
                           matrix(n_.expert(il, e, "ffn_up"), c_.hidden, c_.dim),
                           matrix(n_.expert(il, e, "ffn_down"), c_.dim, c_.hidden)});
  }
};

}  // namespace

const TensorNaming& gguf_naming() {
  static const GgufNaming n;
  return n;
}

const TensorNaming& hf_naming() {
  static const HfNaming n;
  return n;
}

ModelWeights map_weights(const TensorTable& tensors, const TensorNaming& naming, const ModelConfig& config,
                         const std::string& source, bool tied) {
  return WeightMapper(tensors, naming, config, source).map(tied);
}

}  // namespace smoe

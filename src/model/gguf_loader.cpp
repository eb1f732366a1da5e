// Maps the tensors of a GGUF file onto the canonical weight schema, checking every shape.
// Handles merged expert tensors (blk.N.ffn_*_exps), per-expert tensors (blk.N.ffn_*.E) and
// dense feed-forward blocks (blk.N.ffn_*), and a missing output.weight (tied embeddings).
#include "core/error.h"
#include "kernels/kernels.h"
#include "model/model.h"

#include <fmt/format.h>

namespace smoe {

class GgufModelLoader {
 public:
  explicit GgufModelLoader(Model& model) : m_(model), g_(*model.gguf_), c_(model.config_) {}

  void load() {
    ModelWeights& w = m_.weights_;
    w.token_embd = matrix("token_embd.weight", c_.vocab, c_.dim);
    w.output_norm = vector("output_norm.weight", c_.dim);
    if (g_.find_tensor("output.weight")) {
      w.output = matrix("output.weight", c_.vocab, c_.dim);
    } else {
      w.output = w.token_embd;
      w.tied_output = true;
    }
    w.layers.resize(c_.n_layer);
    for (int64_t il = 0; il < c_.n_layer; ++il) load_layer(il, w.layers[il]);
  }

 private:
  Model& m_;
  const GgufFile& g_;
  const ModelConfig& c_;

  const GgufTensor& tensor(const std::string& name) const {
    const GgufTensor* t = g_.find_tensor(name);
    if (!t) fail("{}: missing tensor '{}'", g_.path(), name);
    if (!type_info(t->type).computable)
      fail("{}: tensor '{}' has type {}, which smoe cannot compute with", g_.path(), name, type_name(t->type));
    return *t;
  }

  void expect_shape(const GgufTensor& t, std::initializer_list<int64_t> ne) const {
    bool ok = t.ne.size() <= 4;
    size_t i = 0;
    for (int64_t n : ne) ok = ok && t.dim(i++) == n;
    for (; i < 4; ++i) ok = ok && t.dim(i) == 1;
    if (!ok) {
      std::string got, want;
      for (size_t k = 0; k < t.ne.size(); ++k) got += (k ? ", " : "") + std::to_string(t.ne[k]);
      i = 0;
      for (int64_t n : ne) want += (i++ ? ", " : "") + std::to_string(n);
      fail("{}: tensor '{}' has shape [{}], expected [{}]", g_.path(), t.name, got, want);
    }
  }

  static Matrix view(const GgufTensor& t, int64_t n_rows, int64_t n_cols, int64_t slice = 0) {
    Matrix m;
    m.type = t.type;
    m.n_rows = n_rows;
    m.n_cols = n_cols;
    m.row_bytes = row_bytes(t.type, n_cols);
    m.data = t.data + m.row_bytes * static_cast<size_t>(n_rows) * static_cast<size_t>(slice);
    return m;
  }

  // A 2-D weight stored as ggml ne = [n_cols, n_rows].
  Matrix matrix(const std::string& name, int64_t n_rows, int64_t n_cols) const {
    const GgufTensor& t = tensor(name);
    expect_shape(t, {n_cols, n_rows});
    return view(t, n_rows, n_cols);
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    const GgufTensor& t = tensor(name);
    expect_shape(t, {n});
    std::vector<float> v(n);
    reference_kernels(t.type).dequantize_row(t.data, v.data(), n);
    return v;
  }

  // Expert e of a stacked tensor with ne = [n_cols, n_rows, n_expert].
  std::vector<Matrix> stacked(const std::string& name, int64_t n_rows, int64_t n_cols) const {
    const GgufTensor& t = tensor(name);
    expect_shape(t, {n_cols, n_rows, c_.n_expert});
    std::vector<Matrix> out;
    for (int64_t e = 0; e < c_.n_expert; ++e) out.push_back(view(t, n_rows, n_cols, e));
    return out;
  }

  void load_layer(int64_t il, LayerWeights& l) const {
    const std::string b = fmt::format("blk.{}.", il);
    l.attn_norm = vector(b + "attn_norm.weight", c_.dim);
    l.wq = matrix(b + "attn_q.weight", c_.q_dim(), c_.dim);
    l.wk = matrix(b + "attn_k.weight", c_.kv_dim(), c_.dim);
    l.wv = matrix(b + "attn_v.weight", c_.kv_dim(), c_.dim);
    l.wo = matrix(b + "attn_output.weight", c_.dim, c_.q_dim());
    l.ffn_norm = vector(b + "ffn_norm.weight", c_.dim);
    if (!c_.is_moe()) {
      l.experts.push_back({matrix(b + "ffn_gate.weight", c_.hidden, c_.dim),
                           matrix(b + "ffn_up.weight", c_.hidden, c_.dim),
                           matrix(b + "ffn_down.weight", c_.dim, c_.hidden)});
      return;
    }
    l.router = matrix(b + "ffn_gate_inp.weight", c_.n_expert, c_.dim);
    if (g_.find_tensor(b + "ffn_gate_exps.weight")) {
      auto gate = stacked(b + "ffn_gate_exps.weight", c_.hidden, c_.dim);
      auto up = stacked(b + "ffn_up_exps.weight", c_.hidden, c_.dim);
      auto down = stacked(b + "ffn_down_exps.weight", c_.dim, c_.hidden);
      for (int64_t e = 0; e < c_.n_expert; ++e) l.experts.push_back({gate[e], up[e], down[e]});
    } else {
      for (int64_t e = 0; e < c_.n_expert; ++e) {
        l.experts.push_back({matrix(fmt::format("{}ffn_gate.{}.weight", b, e), c_.hidden, c_.dim),
                             matrix(fmt::format("{}ffn_up.{}.weight", b, e), c_.hidden, c_.dim),
                             matrix(fmt::format("{}ffn_down.{}.weight", b, e), c_.dim, c_.hidden)});
      }
    }
  }
};

std::unique_ptr<Model> Model::load(const std::string& path) {
  auto model = std::unique_ptr<Model>(new Model());
  model->path_ = path;
  model->gguf_ = std::make_unique<GgufFile>(GgufFile::open(path));
  model->config_ = config_from_gguf(*model->gguf_);
  GgufModelLoader(*model).load();
  if (model->gguf_->has("tokenizer.ggml.tokens")) {
    model->tokenizer_ = std::make_unique<Tokenizer>(load_vocab_from_gguf(*model->gguf_));
    if (model->tokenizer_->vocab().size() > model->config_.vocab)
      fail("{}: the tokenizer has {} tokens but the embedding has only {} rows", path,
           model->tokenizer_->vocab().size(), model->config_.vocab);
  }
  return model;
}

const Tokenizer& Model::tokenizer() const {
  if (!tokenizer_) fail("{}: the model file has no tokenizer (tokenizer.ggml.tokens)", path_);
  return *tokenizer_;
}

}  // namespace smoe

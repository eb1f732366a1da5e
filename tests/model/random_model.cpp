// Random model writer and the plain float64 reference forward pass.
#include "model/random_model.h"

#include "formats/gguf.h"
#include "formats/gguf_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>

namespace smoe::test {

void write_random_model(const RandomModelShape& s, const std::string& path) {
  const int64_t hd = s.head_dim ? s.head_dim : s.dim / s.n_head;
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Keep every buffer alive until write().
  std::vector<std::unique_ptr<std::vector<float>>> buffers;
  GgufWriter w;
  auto tensor = [&](const std::string& name, std::vector<int64_t> ne, float scale, float offset = 0) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    auto buf = std::make_unique<std::vector<float>>(n);
    for (float& v : *buf) v = offset + scale * normal(rng);
    w.add_tensor(name, GgmlType::F32, ne, buf->data());
    buffers.push_back(std::move(buf));
  };
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "random-test");
  w.set_u32("llama.context_length", static_cast<uint32_t>(s.context));
  w.set_u32("llama.embedding_length", static_cast<uint32_t>(s.dim));
  w.set_u32("llama.block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.hidden));
  w.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.n_kv_head));
  if (s.head_dim) {
    w.set_u32("llama.attention.key_length", static_cast<uint32_t>(hd));
    w.set_u32("llama.attention.value_length", static_cast<uint32_t>(hd));
  }
  w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(s.rope_dim ? s.rope_dim : hd));
  w.set_f32("llama.rope.freq_base", s.rope_theta);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", s.eps);
  w.set_u32("llama.vocab_size", static_cast<uint32_t>(s.vocab));
  if (s.sliding_window) w.set_u32("llama.attention.sliding_window", static_cast<uint32_t>(s.sliding_window));
  if (s.n_expert) {
    w.set_u32("llama.expert_count", static_cast<uint32_t>(s.n_expert));
    w.set_u32("llama.expert_used_count", static_cast<uint32_t>(s.top_k));
  }
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> kinds = {2, 3, 3};
  for (int64_t i = 3; i < s.vocab; ++i) {
    pieces.push_back(fmt::format("\u2581t{}", i));
    scores.push_back(-static_cast<float>(i));
    kinds.push_back(1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", pieces);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", kinds);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);

  const float a = 1.0f / std::sqrt(static_cast<float>(s.dim));
  const float b = 1.0f / std::sqrt(static_cast<float>(s.hidden));
  tensor("token_embd.weight", {s.dim, s.vocab}, 1.0f);
  tensor("output_norm.weight", {s.dim}, 0.1f, 1.0f);
  if (!s.tied) tensor("output.weight", {s.dim, s.vocab}, a);
  for (int64_t il = 0; il < s.n_layer; ++il) {
    const std::string p = fmt::format("blk.{}.", il);
    tensor(p + "attn_norm.weight", {s.dim}, 0.1f, 1.0f);
    tensor(p + "attn_q.weight", {s.dim, s.n_head * hd}, a);
    tensor(p + "attn_k.weight", {s.dim, s.n_kv_head * hd}, a);
    tensor(p + "attn_v.weight", {s.dim, s.n_kv_head * hd}, a);
    tensor(p + "attn_output.weight", {s.n_head * hd, s.dim}, 1.0f / std::sqrt(static_cast<float>(s.n_head * hd)));
    tensor(p + "ffn_norm.weight", {s.dim}, 0.1f, 1.0f);
    if (!s.n_expert) {
      tensor(p + "ffn_gate.weight", {s.dim, s.hidden}, a);
      tensor(p + "ffn_up.weight", {s.dim, s.hidden}, a);
      tensor(p + "ffn_down.weight", {s.hidden, s.dim}, b);
      continue;
    }
    tensor(p + "ffn_gate_inp.weight", {s.dim, s.n_expert}, a);
    if (s.per_expert_tensors) {
      for (int64_t e = 0; e < s.n_expert; ++e) {
        tensor(fmt::format("{}ffn_gate.{}.weight", p, e), {s.dim, s.hidden}, a);
        tensor(fmt::format("{}ffn_up.{}.weight", p, e), {s.dim, s.hidden}, a);
        tensor(fmt::format("{}ffn_down.{}.weight", p, e), {s.hidden, s.dim}, b);
      }
    } else {
      tensor(p + "ffn_gate_exps.weight", {s.dim, s.hidden, s.n_expert}, a);
      tensor(p + "ffn_up_exps.weight", {s.dim, s.hidden, s.n_expert}, a);
      tensor(p + "ffn_down_exps.weight", {s.hidden, s.dim, s.n_expert}, b);
    }
  }
  w.write(path);
}

namespace {

// A weight read from the file as doubles: W[r][c] with r < rows, c < cols.
struct Weight {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0;
  double at(int64_t r, int64_t c) const { return data[r * cols + c]; }
  std::vector<double> apply(const std::vector<double>& x) const {  // W x
    std::vector<double> y(rows, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) y[r] += at(r, c) * x[c];
    return y;
  }
};

std::vector<double> rms_norm(const std::vector<double>& x, const Weight& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w.data[i];
  return y;
}

}  // namespace

std::vector<double> reference_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  GgufFile g = GgufFile::open(path);
  auto get = [&](const std::string& k, int64_t fallback = -1) { return g.get_int("llama." + k).value_or(fallback); };
  const int64_t dim = get("embedding_length"), n_layer = get("block_count"), hidden = get("feed_forward_length");
  const int64_t n_head = get("attention.head_count"), n_kv = get("attention.head_count_kv");
  const int64_t hd = get("attention.key_length", dim / n_head), rope_dim = get("rope.dimension_count", hd);
  const int64_t n_expert = get("expert_count", 0), top_k = get("expert_used_count", 0);
  const int64_t window = get("attention.sliding_window", 0), vocab = get("vocab_size");
  const double theta = g.get_float("llama.rope.freq_base").value();
  const double eps = g.get_float("llama.attention.layer_norm_rms_epsilon").value();
  auto weight = [&](const std::string& name) {
    const GgufTensor* t = g.find_tensor(name);
    if (!t) throw std::runtime_error("missing " + name);
    return Weight{reinterpret_cast<const float*>(t->data), t->dim(1) * t->dim(2), t->dim(0)};
  };
  auto expert = [&](int64_t il, const char* part, int64_t e) {
    const GgufTensor* stacked = g.find_tensor(fmt::format("blk.{}.{}_exps.weight", il, part));
    if (!stacked) return weight(fmt::format("blk.{}.{}.{}.weight", il, part, e));
    const int64_t rows = stacked->dim(1), cols = stacked->dim(0);
    return Weight{reinterpret_cast<const float*>(stacked->data) + e * rows * cols, rows, cols};
  };
  const Weight embd = weight("token_embd.weight");
  const Weight out = g.find_tensor("output.weight") ? weight("output.weight") : embd;

  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<std::vector<double>> x(n);
  for (int64_t t = 0; t < n; ++t) {
    x[t].resize(dim);
    for (int64_t d = 0; d < dim; ++d) x[t][d] = embd.at(tokens[t], d);
  }
  auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < rope_dim / 2; ++i) {
        const double angle = pos * std::pow(theta, -2.0 * i / rope_dim);
        double& a = v[h * hd + 2 * i];
        double& b = v[h * hd + 2 * i + 1];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(angle) - b0 * std::sin(angle);
        b = a0 * std::sin(angle) + b0 * std::cos(angle);
      }
  };
  for (int64_t il = 0; il < n_layer; ++il) {
    const std::string p = fmt::format("blk.{}.", il);
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (int64_t t = 0; t < n; ++t) {
      const auto h = rms_norm(x[t], weight(p + "attn_norm.weight"), eps);
      q[t] = weight(p + "attn_q.weight").apply(h);
      k[t] = weight(p + "attn_k.weight").apply(h);
      v[t] = weight(p + "attn_v.weight").apply(h);
      rope(q[t], n_head, t);
      rope(k[t], n_kv, t);
    }
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> att(n_head * hd, 0.0);
      for (int64_t h = 0; h < n_head; ++h) {
        const int64_t kvh = h / (n_head / n_kv);
        const int64_t first = window > 0 ? std::max<int64_t>(0, t - window + 1) : 0;
        std::vector<double> s;
        for (int64_t j = first; j <= t; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < hd; ++d) dot += q[t][h * hd + d] * k[j][kvh * hd + d];
          s.push_back(dot / std::sqrt(static_cast<double>(hd)));
        }
        const double m = *std::max_element(s.begin(), s.end());
        double z = 0;
        for (double& e : s) z += e = std::exp(e - m);
        for (int64_t j = first; j <= t; ++j)
          for (int64_t d = 0; d < hd; ++d) att[h * hd + d] += s[j - first] / z * v[j][kvh * hd + d];
      }
      const auto o = weight(p + "attn_output.weight").apply(att);
      for (int64_t d = 0; d < dim; ++d) x[t][d] += o[d];
    }
    for (int64_t t = 0; t < n; ++t) {
      const auto h = rms_norm(x[t], weight(p + "ffn_norm.weight"), eps);
      std::vector<std::pair<int64_t, double>> chosen;  // (expert, weight)
      if (n_expert == 0) {
        chosen.push_back({-1, 1.0});
      } else {
        const auto logits = weight(p + "ffn_gate_inp.weight").apply(h);
        std::vector<int64_t> order(n_expert);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
        double z = 0;
        for (int64_t j = 0; j < top_k; ++j) z += std::exp(logits[order[j]] - logits[order[0]]);
        for (int64_t j = 0; j < top_k; ++j) chosen.push_back({order[j], std::exp(logits[order[j]] - logits[order[0]]) / z});
      }
      for (auto [e, wgt] : chosen) {
        const Weight gate = e < 0 ? weight(p + "ffn_gate.weight") : expert(il, "ffn_gate", e);
        const Weight up = e < 0 ? weight(p + "ffn_up.weight") : expert(il, "ffn_up", e);
        const Weight down = e < 0 ? weight(p + "ffn_down.weight") : expert(il, "ffn_down", e);
        auto g1 = gate.apply(h);
        const auto u = up.apply(h);
        for (int64_t i = 0; i < hidden; ++i) g1[i] = g1[i] / (1 + std::exp(-g1[i])) * u[i];
        const auto d = down.apply(g1);
        for (int64_t i = 0; i < dim; ++i) x[t][i] += wgt * d[i];
      }
    }
  }
  std::vector<double> logits(n * vocab);
  for (int64_t t = 0; t < n; ++t) {
    const auto h = rms_norm(x[t], weight("output_norm.weight"), eps);
    const auto l = out.apply(h);
    std::copy(l.begin(), l.end(), logits.begin() + t * vocab);
  }
  return logits;
}

}  // namespace smoe::test

// The Mixtral forward pass: RMSNorm -> grouped-query attention with RoPE -> RMSNorm ->
// top-k routed SwiGLU experts, over preallocated activations, with tokens grouped by expert
// so that each expert's weights are read once per chunk.
#include "model/session.h"

#include "core/error.h"
#include "kernels/kernels.h"
#include "kernels/vec.h"
#include "model/ops.h"

#include <algorithm>
#include <cmath>

namespace smoe {

Session::Session(const Model& model, int64_t n_ctx, int64_t max_chunk)
    : model_(model),
      cfg_(model.config()),
      kv_(model.config().n_layer, n_ctx > 0 ? n_ctx : model.config().context_length, model.config().kv_dim(),
          model.config().sliding_window, max_chunk),
      max_chunk_(max_chunk) {
  if (n_ctx < 0) fail("context size must be positive (got {})", n_ctx);
  if (max_chunk < 1) fail("the chunk size must be positive (got {})", max_chunk);
  if (n_ctx > cfg_.context_length)
    fail("context size {} exceeds the model's context length {}", n_ctx, cfg_.context_length);
}

void Session::truncate(int64_t n) {
  n = std::clamp<int64_t>(n, 0, n_past_);
  // The next query (at position n) reads the keys of positions (n - W, n): they must not have
  // been overwritten in the ring.
  const int64_t first_needed = cfg_.sliding_window > 0 ? std::max<int64_t>(0, n - cfg_.sliding_window + 1) : 0;
  if (n > 0 && first_needed < oldest_intact_)
    fail("cannot rewind the sliding-window cache to {} tokens: positions before {} are overwritten", n,
         oldest_intact_);
  n_past_ = n;
}

void Session::eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) fail("nothing to evaluate: the token list is empty");
  for (int32_t t : tokens)
    if (t < 0 || t >= cfg_.vocab) fail("token id {} is outside the vocabulary (0..{})", t, cfg_.vocab - 1);
  if (n_past_ + n > kv_.n_ctx())
    fail("context is full: {} tokens would exceed the context size of {} (raise --ctx, up to {})",
         n_past_ + n, kv_.n_ctx(), cfg_.context_length);
  kv_.reserve(n_past_ + n);
  logits.resize(static_cast<size_t>((all_logits ? n : 1) * cfg_.vocab));
  for (int64_t start = 0; start < n; start += max_chunk_) {
    const int64_t m = std::min(max_chunk_, n - start);
    const bool last_chunk = start + m == n;
    float* out = all_logits ? logits.data() + start * cfg_.vocab : (last_chunk ? logits.data() : nullptr);
    forward_chunk(tokens.data() + start, m, all_logits, out);
  }
}

void Session::forward_chunk(const int32_t* tokens, int64_t n, bool all_logits, float* logits) {
  const ModelWeights& w = model_.weights();
  const int64_t D = cfg_.dim;
  const int64_t pos0 = n_past_;
  x_.resize(n * D);
  xn_.resize(n * D);
  proj_.resize(n * D);

  const TypeKernels& embd = kernels_for(w.token_embd.type);
  for (int64_t t = 0; t < n; ++t) embd.dequantize_row(w.token_embd.row(tokens[t]), &x_[t * D], D);

  for (int64_t il = 0; il < cfg_.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * D], l.attn_norm.data(), cfg_.norm_eps, D, &xn_[t * D]);
    attention(il, n, pos0);
    for (int64_t i = 0; i < n * D; ++i) x_[i] += proj_[i];

    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * D], l.ffn_norm.data(), cfg_.norm_eps, D, &xn_[t * D]);
    feed_forward(il, n, pos0);
    for (int64_t i = 0; i < n * D; ++i) x_[i] += proj_[i];
  }
  n_past_ += n;
  oldest_intact_ = std::max(oldest_intact_, n_past_ - kv_.slots());

  if (!logits) return;
  // Only the rows whose logits are wanted go through the output norm and projection.
  const int64_t first = all_logits ? 0 : n - 1;
  const int64_t rows = n - first;
  for (int64_t t = first; t < n; ++t) rms_norm(&x_[t * D], w.output_norm.data(), cfg_.norm_eps, D, &xn_[t * D]);
  matmat(w.output.type, w.output.data, cfg_.vocab, D, &xn_[first * D], rows, logits);
}

void Session::attention(int64_t il, int64_t n, int64_t pos0) {
  const LayerWeights& l = model_.weights().layers[il];
  const int64_t D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), hd = cfg_.head_dim;
  q_.resize(n * Q);
  k_.resize(n * KV);
  v_.resize(n * KV);
  attn_.resize(n * Q);
  matmat(l.wq.type, l.wq.data, Q, D, xn_.data(), n, q_.data());
  matmat(l.wk.type, l.wk.data, KV, D, xn_.data(), n, k_.data());
  matmat(l.wv.type, l.wv.data, KV, D, xn_.data(), n, v_.data());
  for (int64_t t = 0; t < n; ++t) {
    apply_rope(&q_[t * Q], cfg_.n_head, hd, cfg_.rope_dim, pos0 + t, cfg_.rope_theta, cfg_.rope_style);
    apply_rope(&k_[t * KV], cfg_.n_kv_head, hd, cfg_.rope_dim, pos0 + t, cfg_.rope_theta, cfg_.rope_style);
    std::copy_n(&k_[t * KV], KV, kv_.key(il, pos0 + t));
    std::copy_n(&v_[t * KV], KV, kv_.value(il, pos0 + t));
  }

  const int64_t group = cfg_.n_head / cfg_.n_kv_head;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t window = cfg_.sliding_window;
  // Each (token, head) pair is independent and computed the same way whatever the chunk size,
  // which keeps prefill and incremental decoding bit-identical.
  // Threads only pay off when there is enough work to share (a long context or a batch).
  const int64_t work = n * cfg_.n_head * (pos0 + n) * hd;
#pragma omp parallel if (work > (1 << 16))
  {
    std::vector<float> scores;
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < cfg_.n_head; ++h) {
        const int64_t pos = pos0 + t;
        // A query at position i attends to keys j with i - W < j <= i (W = sliding window).
        const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
        const int64_t n_keys = pos - first + 1;
        const int64_t kvh = h / group;
        const float* q = &q_[t * Q + h * hd];
        scores.resize(n_keys);
        for (int64_t j = 0; j < n_keys; ++j) scores[j] = dot_f32(q, kv_.key(il, first + j) + kvh * hd, hd) * scale;
        softmax(scores.data(), n_keys);
        float* out = &attn_[t * Q + h * hd];
        std::fill_n(out, hd, 0.0f);
        for (int64_t j = 0; j < n_keys; ++j) {
          const float* v = kv_.value(il, first + j) + kvh * hd;
          const float s = scores[j];
          for (int64_t d = 0; d < hd; ++d) out[d] += s * v[d];
        }
      }
    }
  }
  matmat(l.wo.type, l.wo.data, D, Q, attn_.data(), n, proj_.data());
}

void Session::feed_forward(int64_t il, int64_t n, int64_t pos0) {
  const LayerWeights& l = model_.weights().layers[il];
  const int64_t D = cfg_.dim, H = cfg_.hidden;
  const int64_t n_expert = cfg_.experts_per_layer(), k = cfg_.experts_per_token();

  std::vector<ExpertChoice> choices(n * k);
  if (cfg_.is_moe()) {
    router_.resize(n * n_expert);
    matmat(l.router.type, l.router.data, n_expert, D, xn_.data(), n, router_.data());
    for (int64_t t = 0; t < n; ++t) route_top_k(&router_[t * n_expert], n_expert, k, &choices[t * k]);
  } else {
    for (auto& c : choices) c = {0, 1.0f};
  }
  if (observer_)
    for (int64_t t = 0; t < n; ++t) observer_(il, pos0 + t, std::span(&choices[t * k], k));

  const ExpertGroups groups = group_by_expert(choices, n, k, n_expert);
  std::fill(proj_.begin(), proj_.begin() + n * D, 0.0f);
  for (int64_t e = 0; e < n_expert; ++e) {
    const int64_t m = groups.count(e);
    if (m == 0) continue;
    const ExpertWeights& ex = l.experts[e];
    xe_.resize(m * D);
    gate_.resize(m * H);
    up_.resize(m * H);
    down_.resize(m * D);
    for (int64_t i = 0; i < m; ++i) std::copy_n(&xn_[groups.token[groups.offset[e] + i] * D], D, &xe_[i * D]);
    matmat(ex.gate.type, ex.gate.data, H, D, xe_.data(), m, gate_.data());
    matmat(ex.up.type, ex.up.data, H, D, xe_.data(), m, up_.data());
    swiglu(gate_.data(), up_.data(), m * H);
    matmat(ex.down.type, ex.down.data, D, H, gate_.data(), m, down_.data());
    // Experts are added in index order for every token, in prefill and decode alike.
    for (int64_t i = 0; i < m; ++i) {
      const int64_t t = groups.token[groups.offset[e] + i];
      const float wgt = groups.weight[groups.offset[e] + i];
      for (int64_t d = 0; d < D; ++d) proj_[t * D + d] += wgt * down_[i * D + d];
    }
  }
}

}  // namespace smoe

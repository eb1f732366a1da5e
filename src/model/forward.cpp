// The forward pass over a multi-sequence batch (see forward.h).
#include "model/forward.h"

#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "model/attention.h"
#include "model/ops.h"

#include <algorithm>
#include <cmath>

namespace smoe {

ForwardPass::ForwardPass(const Model& model)
    : model_(model), cfg_(model.config()), expert_source_(model.expert_source()) {}

void ForwardPass::run(std::span<const BatchToken> batch, std::span<KvCache* const> caches, float* logits) {
  const ModelWeights& w = model_.weights();
  const int64_t D = cfg_.dim;
  const int64_t n = static_cast<int64_t>(batch.size());
  x_.resize(n * D);
  xn_.resize(n * D);
  proj_.resize(n * D);

  const TypeKernels& embd = kernels_for(w.token_embd.type);
  for (int64_t t = 0; t < n; ++t) embd.dequantize_row(w.token_embd.row(batch[t].token), &x_[t * D], D);
  stats_.passes++;
  stats_.tokens += n;
  stats_.weight_bytes += n * w.token_embd.row_bytes;

  for (int64_t il = 0; il < cfg_.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * D], l.attn_norm.data(), cfg_.norm_eps, D, &xn_[t * D]);
    attention(il, batch, caches);
    for (int64_t i = 0; i < n * D; ++i) x_[i] += proj_[i];

    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * D], l.ffn_norm.data(), cfg_.norm_eps, D, &xn_[t * D]);
    feed_forward(il, batch);
    for (int64_t i = 0; i < n * D; ++i) x_[i] += proj_[i];
  }

  if (!logits) return;
  // Only the rows whose logits are wanted go through the output norm and projection: gather them.
  int64_t rows = 0;
  for (int64_t t = 0; t < n; ++t)
    if (batch[t].want_logits) rms_norm(&x_[t * D], w.output_norm.data(), cfg_.norm_eps, D, &xn_[rows++ * D]);
  if (rows > 0) {
    matmat(w.output.type, w.output.data, cfg_.vocab, D, xn_.data(), rows, logits);
    stats_.weight_bytes += w.output.n_bytes();
  }
}

void ForwardPass::attention(int64_t il, std::span<const BatchToken> batch, std::span<KvCache* const> caches) {
  const LayerWeights& l = model_.weights().layers[il];
  const int64_t D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), hd = cfg_.head_dim;
  const int64_t n = static_cast<int64_t>(batch.size());
  q_.resize(n * Q);
  k_.resize(n * KV);
  v_.resize(n * KV);
  attn_.resize(n * Q);
  matmat(l.wq.type, l.wq.data, Q, D, xn_.data(), n, q_.data());
  matmat(l.wk.type, l.wk.data, KV, D, xn_.data(), n, k_.data());
  matmat(l.wv.type, l.wv.data, KV, D, xn_.data(), n, v_.data());
  // Every token's keys and values are stored before any attention is computed, so a token sees
  // the earlier tokens of its own sequence in the same batch.
  int64_t work = 0;
  for (int64_t t = 0; t < n; ++t) {
    const BatchToken& b = batch[t];
    apply_rope(&q_[t * Q], cfg_.n_head, hd, cfg_.rope_dim, b.pos, cfg_.rope_theta, cfg_.rope_style);
    apply_rope(&k_[t * KV], cfg_.n_kv_head, hd, cfg_.rope_dim, b.pos, cfg_.rope_theta, cfg_.rope_style);
    std::copy_n(&k_[t * KV], KV, caches[b.seq]->key(il, b.pos));
    std::copy_n(&v_[t * KV], KV, caches[b.seq]->value(il, b.pos));
    work += (b.pos + 1) * cfg_.n_head * hd;
  }

  const int64_t group = cfg_.n_head / cfg_.n_kv_head;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t window = cfg_.sliding_window;
  // Each (token, KV head) item is independent, and its heads' results do not depend on the
  // batch (attention.h), which keeps prefill, incremental and batched decoding bit-identical.
  auto attend = [&](int64_t begin, int64_t end) {
    thread_local AttentionScratch scratch;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / cfg_.n_kv_head, kvh = item % cfg_.n_kv_head;
      const int64_t pos = batch[t].pos;
      // A query at position i attends to keys j with i - W < j <= i (W = sliding window).
      const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
      attend_kv_group(&q_[t * Q + kvh * group * hd], group, hd, *caches[batch[t].seq], il, kvh * hd, first, pos,
                      scale, &attn_[t * Q + kvh * group * hd], scratch);
    }
  };
  // Threads only pay off when there is enough work to share (a long context or a batch).
  // Items are dealt out in turn rather than in contiguous ranges: in a prompt, later tokens
  // attend to more keys, so with two threads the second range held three quarters of the work.
  if (work > (1 << 16))
    ThreadPool::global().run([&](int thread, int n_threads) {
      for (int64_t item = thread; item < n * cfg_.n_kv_head; item += n_threads) attend(item, item + 1);
    });
  else
    attend(0, n * cfg_.n_kv_head);
  matmat(l.wo.type, l.wo.data, D, Q, attn_.data(), n, proj_.data());
  stats_.weight_bytes += l.wq.n_bytes() + l.wk.n_bytes() + l.wv.n_bytes() + l.wo.n_bytes();
}

void ForwardPass::feed_forward(int64_t il, std::span<const BatchToken> batch) {
  const LayerWeights& l = model_.weights().layers[il];
  const int64_t D = cfg_.dim, H = cfg_.hidden;
  const int64_t n_expert = cfg_.experts_per_layer(), k = cfg_.experts_per_token();
  const int64_t n = static_cast<int64_t>(batch.size());

  std::vector<ExpertChoice> choices(n * k);
  if (cfg_.is_moe()) {
    router_.resize(n * n_expert);
    matmat(l.router.type, l.router.data, n_expert, D, xn_.data(), n, router_.data());
    stats_.weight_bytes += l.router.n_bytes();
    for (int64_t t = 0; t < n; ++t) route_top_k(&router_[t * n_expert], n_expert, k, &choices[t * k]);
  } else {
    for (auto& c : choices) c = {0, 1.0f};
  }
  if (observer_)
    for (int64_t t = 0; t < n; ++t) observer_(il, batch[t].seq, batch[t].pos, std::span(&choices[t * k], k));

  const ExpertGroups groups = group_by_expert(choices, n, k, n_expert);
  if (expert_source_) {
    // Every expert the batch needs is read at most once for this layer; the next layer's
    // likely experts are queued behind them.
    std::vector<int32_t> needed;
    for (int64_t e = 0; e < n_expert; ++e)
      if (groups.count(e) > 0) needed.push_back(static_cast<int32_t>(e));
    expert_source_->plan(il, n, needed);
    if (cfg_.is_moe() && il + 1 < cfg_.n_layer) predict_next_experts(il, n);
  }
  // Releases a cached expert when its products are done (even if a kernel throws).
  struct Lease {
    ExpertSource* source;
    int64_t il;
    int32_t e;
    ~Lease() {
      if (source) source->release(il, e);
    }
  };
  std::fill(proj_.begin(), proj_.begin() + n * D, 0.0f);
  for (int64_t e = 0; e < n_expert; ++e) {
    const int64_t m = groups.count(e);
    if (m == 0) continue;
    const ExpertWeights& ex = expert_source_ ? expert_source_->acquire(il, static_cast<int32_t>(e)) : l.experts[e];
    const Lease lease{expert_source_, il, static_cast<int32_t>(e)};
    stats_.weight_bytes += ex.n_bytes();
    stats_.expert_activations++;
    xe_.resize(m * D);
    gate_.resize(m * H);
    up_.resize(m * H);
    down_.resize(m * D);
    for (int64_t i = 0; i < m; ++i) std::copy_n(&xn_[groups.token[groups.offset[e] + i] * D], D, &xe_[i * D]);
    matmat(ex.gate.type, ex.gate.data, H, D, xe_.data(), m, gate_.data());
    matmat(ex.up.type, ex.up.data, H, D, xe_.data(), m, up_.data());
    // Element-wise, so the split does not change a value; a prompt's experts have millions.
    ThreadPool::global().parallel_for(m * H, int64_t{1} << 15, [&](int64_t begin, int64_t end) {
      swiglu(gate_.data() + begin, up_.data() + begin, end - begin);
    });
    matmat(ex.down.type, ex.down.data, D, H, gate_.data(), m, down_.data());
    // Experts are added in index order for every token, in any batch.
    for (int64_t i = 0; i < m; ++i) {
      const int64_t t = groups.token[groups.offset[e] + i];
      const float wgt = groups.weight[groups.offset[e] + i];
      for (int64_t d = 0; d < D; ++d) proj_[t * D + d] += wgt * down_[i * D + d];
    }
  }
}

void ForwardPass::predict_next_experts(int64_t il, int64_t n) {
  const LayerWeights& next = model_.weights().layers[il + 1];
  const int64_t D = cfg_.dim, n_expert = cfg_.n_expert, k = cfg_.n_expert_used;
  guess_xn_.resize(n * D);
  guess_router_.resize(n * n_expert);
  // x_ holds this layer's residual stream after attention; the next layer's own input differs
  // by this layer's expert output and the next attention, which rarely changes its top-k.
  for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * D], next.ffn_norm.data(), cfg_.norm_eps, D, &guess_xn_[t * D]);
  matmat(next.router.type, next.router.data, n_expert, D, guess_xn_.data(), n, guess_router_.data());
  // Only each token's first choice is read ahead: on the bundled model's real routing it is
  // right 85% of the time (74% for the top k), and wrong guesses cost reads and evictions.
  std::vector<char> rank(n_expert, 0);  // 2: some token's first choice, 1: in some top k
  std::vector<ExpertChoice> choice(k);
  for (int64_t t = 0; t < n; ++t) {
    route_top_k(&guess_router_[t * n_expert], n_expert, k, choice.data());
    for (int64_t j = 0; j < k; ++j) rank[choice[j].expert] = std::max<char>(rank[choice[j].expert], j == 0 ? 2 : 1);
  }
  std::vector<int32_t> likely, possible;
  for (int64_t e = 0; e < n_expert; ++e) {
    if (rank[e] == 2) likely.push_back(static_cast<int32_t>(e));
    if (rank[e] >= 1) possible.push_back(static_cast<int32_t>(e));
  }
  expert_source_->predict(il + 1, likely, possible);
}

}  // namespace smoe

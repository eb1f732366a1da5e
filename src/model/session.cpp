// Sessions: bookkeeping of positions and caches around the forward pass.
#include "model/session.h"

#include "core/error.h"

#include <algorithm>

namespace smoe {

Session::Session(const Model& model, int64_t n_ctx, int64_t max_chunk)
    : model_(model),
      cfg_(model.config()),
      kv_(model.config().n_layer, n_ctx > 0 ? n_ctx : model.config().context_length, model.config().kv_dim(),
          model.config().sliding_window, max_chunk),
      forward_(model),
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

void Session::check_append(std::span<const int32_t> tokens) const {
  if (tokens.empty()) fail("nothing to evaluate: the token list is empty");
  for (int32_t t : tokens)
    if (t < 0 || t >= cfg_.vocab) fail("token id {} is outside the vocabulary (0..{})", t, cfg_.vocab - 1);
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n_past_ + n > kv_.n_ctx())
    fail("context is full: {} tokens would exceed the context size of {} (raise --ctx, up to {})", n_past_ + n,
         kv_.n_ctx(), cfg_.context_length);
}

void Session::advance(int64_t n) {
  n_past_ += n;
  oldest_intact_ = std::max(oldest_intact_, n_past_ - kv_.slots());
}

void Session::eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
  check_append(tokens);
  const int64_t n = static_cast<int64_t>(tokens.size());
  kv_.reserve(n_past_ + n);
  logits.resize(static_cast<size_t>((all_logits ? n : 1) * cfg_.vocab));
  KvCache* caches[1] = {&kv_};
  std::vector<BatchToken> batch;
  for (int64_t start = 0; start < n; start += max_chunk_) {
    const int64_t m = std::min(max_chunk_, n - start);
    batch.resize(m);
    for (int64_t i = 0; i < m; ++i)
      batch[i] = {tokens[start + i], 0, n_past_ + i, all_logits || start + i == n - 1};
    float* out = all_logits ? logits.data() + start * cfg_.vocab : logits.data();
    forward_.run(batch, caches, out);
    advance(m);
  }
}

void decode_batch(ForwardPass& pass, std::span<Session* const> sessions, std::span<const int32_t> tokens,
                  std::vector<float>& logits) {
  if (sessions.size() != tokens.size()) fail("decode_batch: {} sessions but {} tokens", sessions.size(), tokens.size());
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (&sessions[i]->model_ != &pass.model()) fail("decode_batch: a session of another model");
    for (size_t j = 0; j < i; ++j)
      if (sessions[j] == sessions[i]) fail("decode_batch: the same session twice in one step");
    sessions[i]->check_append(tokens.subspan(i, 1));
  }
  std::vector<KvCache*> caches;
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session& s = *sessions[i];
    s.kv_.reserve(s.n_past_ + 1);
    caches.push_back(&s.kv_);
    batch.push_back({tokens[i], static_cast<int32_t>(i), s.n_past_, true});
  }
  logits.resize(sessions.size() * pass.model().config().vocab);
  pass.run(batch, caches, logits.data());
  for (Session* s : sessions) s->advance(1);
}

}  // namespace smoe

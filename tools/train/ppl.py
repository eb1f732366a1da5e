"""The perplexity method shared by training-time validation and eval_ppl.py (llama.cpp style).

Given a UTF-8 text file and a context length n_ctx:
 1. tokens = [BOS] + SentencePiece(text of the whole file, exactly as stored, no normalisation
    beyond the tokenizer's own; add_dummy_prefix as the Mixtral tokenizer model specifies).
 2. n_chunks = floor(len(tokens) / n_ctx); chunk c is tokens[c*n_ctx : (c+1)*n_ctx] with its first
    token replaced by BOS (for c = 0 it already is BOS). Leftover tokens are not used. Each chunk is
    evaluated independently (fresh context, positions 0..n_ctx-1).
 3. In each chunk, the logits at positions j = n_ctx/2 .. n_ctx-2 score the next token (position
    j+1): n_ctx/2 - 1 scored tokens per chunk (the first half only provides context).
 4. PPL = exp(mean over all scored tokens of -log p(token)), natural log, full 32000-way softmax.
This is what llama.cpp's `perplexity` does (its `first = n_ctx/2`).
"""
import math


def chunks(tokens, n_ctx, bos_id=1):
    """Yield (chunk token list, first scored logit position)."""
    if n_ctx < 4 or n_ctx % 2:
        raise ValueError("n_ctx must be even and >= 4")
    n = len(tokens) // n_ctx
    for c in range(n):
        ch = list(tokens[c * n_ctx:(c + 1) * n_ctx])
        ch[0] = bos_id
        yield ch, n_ctx // 2


def tokenize_file(sp, path, bos_id=1):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [bos_id] + sp.encode(text)


def evaluate(model, tokens, n_ctx, batch=8, bos_id=1):
    """model: model.Mixtral. Returns (nll_sum, n_scored)."""
    import torch
    nll, count = 0.0, 0
    items = list(chunks(tokens, n_ctx, bos_id))
    model.eval()
    with torch.no_grad():
        for i in range(0, len(items), batch):
            part = items[i:i + batch]
            ids = torch.tensor([p[0] for p in part], dtype=torch.long)
            first = part[0][1]
            h, _, _ = model.hidden(ids)
            hs = h[:, first:n_ctx - 1, :].reshape(-1, h.shape[-1])
            tg = ids[:, first + 1:n_ctx].reshape(-1)
            lp = model.target_logprobs(hs, tg)
            nll -= lp.double().sum().item()
            count += tg.numel()
    return nll, count


def unigram_ppl(train_tokens, tokens, n_ctx, vocab_size=32000, bos_id=1):
    """Baseline: add-one smoothed unigram distribution from the training token stream, scored on
    exactly the tokens the method above scores."""
    import numpy as np
    counts = np.bincount(np.asarray(train_tokens, dtype=np.int64), minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    nll, n = 0.0, 0
    for ch, first in chunks(tokens, n_ctx, bos_id):
        t = np.asarray(ch[first + 1:n_ctx], dtype=np.int64)
        nll -= logp[t].sum()
        n += t.size
    return math.exp(nll / n), n

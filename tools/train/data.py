"""Data pipeline: token streams from data/corpus (see tools/corpus) and a deterministic sampler.

Training stream: for each training document in train.jsonl order, SentencePiece(text) followed by
EOS; all concatenated. Cached as uint16 in <cache>/train.<hash>.npy.
Samples: a sample is L+1 consecutive stream tokens starting at an offset; the model input is
[BOS] + stream[off : off+L-1] and the targets stream[off : off+L] (every sequence starts with BOS,
as generation and the perplexity chunks do). Epoch e uses the offsets shift_e + L*i (non-
overlapping windows, shift_e in [0, L)) in a permuted order; shift and permutation come from
numpy's PCG64 seeded with (seed, e). Step s takes samples s*B .. s*B+B-1 of the concatenated
epochs, so the data order depends only on (seed, L, B) and a resumed run sees the same batches.
"""
import hashlib
import json
import os

import numpy as np


def _hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def load_train_stream(corpus_dir, tokenizer_path, cache_dir, eos_id=2):
    import sentencepiece as spm
    src = os.path.join(corpus_dir, "train.jsonl")
    key = _hash(src, tokenizer_path)
    os.makedirs(cache_dir, exist_ok=True)
    cache = os.path.join(cache_dir, "train.%s.npy" % key)
    if os.path.exists(cache):
        return np.load(cache)
    sp = spm.SentencePieceProcessor(model_file=tokenizer_path)
    parts = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            ids = sp.encode(json.loads(line)["text"])
            parts.append(np.asarray(ids + [eos_id], dtype=np.uint16))
    stream = np.concatenate(parts)
    np.save(cache + ".tmp.npy", stream)
    os.replace(cache + ".tmp.npy", cache)
    return stream


class Sampler:
    def __init__(self, stream, seq_len, batch, seed, bos_id=1):
        self.s = stream
        self.L = seq_len
        self.B = batch
        self.seed = seed
        self.bos = bos_id
        self.per_epoch = (len(stream) - 2 * seq_len) // seq_len
        self._epoch_cache = (None, None)

    def _epoch(self, e):
        if self._epoch_cache[0] != e:
            rng = np.random.Generator(np.random.PCG64([self.seed, e]))
            shift = int(rng.integers(0, self.L))
            offs = shift + self.L * np.arange(self.per_epoch)
            self._epoch_cache = (e, offs[rng.permutation(self.per_epoch)])
        return self._epoch_cache[1]

    def batch(self, step):
        """-> (inputs [B, L] int64, targets [B, L] int64, epoch float)."""
        xs, ys = [], []
        for j in range(self.B):
            g = step * self.B + j
            e, i = divmod(g, self.per_epoch)
            off = int(self._epoch(e)[i])
            w = self.s[off:off + self.L].astype(np.int64)
            xs.append(np.concatenate([[self.bos], w[:-1]]))
            ys.append(w)
        return np.stack(xs), np.stack(ys), (step * self.B) / self.per_epoch

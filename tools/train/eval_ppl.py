#!/usr/bin/python3
"""Perplexity of a Hugging Face layout Mixtral directory on a text file (method: see ppl.py).

  /usr/bin/python3 tools/train/eval_ppl.py --model models/smoe-mixtral-tiny --text data/corpus/valid.txt --ctx 256

The weights are read from model.safetensors (bf16 or f32, or shards with an index) and computed in
float32, as smoe computes. The tokenizer is the model directory's tokenizer.model.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402

import model as M  # noqa: E402
import ppl  # noqa: E402
import safetensors_io as st  # noqa: E402


def load_hf(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = M.Config(**json.load(f))
    sd = st.read_dir(model_dir)
    if cfg.tie_word_embeddings and "lm_head.weight" in sd:
        raise ValueError("tied config but lm_head.weight present")
    return M.Mixtral.from_hf(cfg, sd), cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--unigram-train", help="also print the add-one unigram baseline estimated from this text file")
    ap.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m, cfg = load_hf(a.model)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.model, "tokenizer.model"))
    toks = ppl.tokenize_file(sp, a.text, cfg.bos_token_id)
    t0 = time.time()
    nll, n = ppl.evaluate(m, toks, a.ctx, a.batch, cfg.bos_token_id)
    res = {"ppl": math.exp(nll / n), "mean_nll": nll / n, "scored_tokens": n,
           "chunks": len(toks) // a.ctx, "file_tokens_with_bos": len(toks), "ctx": a.ctx,
           "seconds": round(time.time() - t0, 1)}
    if a.unigram_train:
        tr = sp.encode(open(a.unigram_train, encoding="utf-8").read())
        res["unigram_ppl"], _ = ppl.unigram_ppl(tr, toks, a.ctx, cfg.vocab_size, cfg.bos_token_id)
    if a.json:
        print(json.dumps(res))
    else:
        print("perplexity %.4f  (ctx %d, %d chunks, %d scored tokens, mean nll %.5f)"
              % (res["ppl"], a.ctx, res["chunks"], n, res["mean_nll"]))
        if "unigram_ppl" in res:
            print("unigram baseline perplexity %.4f" % res["unigram_ppl"])


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Write a training checkpoint as a Hugging Face layout Mixtral directory.

  /usr/bin/python3 tools/train/export.py --ckpt data/checkpoints/ckpt.pt --out models/smoe-mixtral-tiny

Writes config.json (MixtralForCausalLM), model.safetensors (bf16 by default, written by
safetensors_io.py; --dtype f32 for testing), generation_config.json, and copies tokenizer.model
(the Mixtral v1 SentencePiece model) unless it is already there.
Tensor names are transformers' (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight,
..., block_sparse_moe.gate.weight, block_sparse_moe.experts.E.w1/w2/w3.weight, model.norm.weight);
lm_head.weight is omitted because the embeddings are tied (tie_word_embeddings: true).
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import model as M  # noqa: E402
import safetensors_io as st  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def load_checkpoint_model(path):
    ck = torch.load(path)
    cfg = M.Config(**ck["config"])
    vocab_ids = ck["model"].get("vocab_ids")
    m = M.Mixtral(cfg, None if vocab_ids is None else vocab_ids.tolist())
    m.load_state_dict(ck["model"])
    return m, cfg, ck


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "data", "checkpoints", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "smoe-mixtral-tiny"))
    ap.add_argument("--dtype", choices=["bf16", "f32"], default="bf16")
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "..", "shared", "tokenizer", "mixtral-v1.tokenizer.model"))
    a = ap.parse_args()
    m, cfg, ck = load_checkpoint_model(a.ckpt)
    os.makedirs(a.out, exist_ok=True)
    hf = cfg.to_hf()
    if a.dtype == "f32":
        hf["torch_dtype"] = "float32"
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
                   "transformers_version": "4.36.0"}, f, indent=2)
        f.write("\n")
    sd = m.hf_state_dict()
    st.write(os.path.join(a.out, "model.safetensors"), sd, "BF16" if a.dtype == "bf16" else "F32",
             {"step": str(ck["step"]), "tokens_seen": str(ck["tokens_seen"])})
    tok = os.path.join(a.out, "tokenizer.model")
    if not os.path.exists(tok):
        shutil.copyfile(a.tokenizer, tok)
    n = sum(v.numel() for v in sd.values())
    print("wrote %s: %d tensors, %d parameters, step %d, %s" % (a.out, len(sd), n, ck["step"], a.dtype))


if __name__ == "__main__":
    main()

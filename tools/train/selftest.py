#!/usr/bin/python3
"""Quick checks of the training tooling (tiny configs, seconds of CPU):
  1. model.py reproduces the float64 reference logits of ../shared/hf/hf-mixtral-micro (HF
     semantics) when that directory exists (skipped otherwise);
  2. safetensors write/read round trip (F32 exact, BF16 = round-to-nearest-even);
  3. the restricted-vocabulary training model gives exactly the log-probabilities of the exported
     full-vocabulary model;
  4. a run of 4 steps equals a run of 2 steps + resume + 2 steps (bitwise), and is deterministic.
Prints 'N passed, N failed'.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import model as M  # noqa: E402
import ppl  # noqa: E402
import safetensors_io as st  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared")
results = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail))


def test_hf_micro():
    d = os.path.join(SHARED, "hf", "hf-mixtral-micro")
    if not os.path.isdir(d):
        print("SKIP hf-mixtral-micro: %s absent" % d)
        results["skipped"] += 1
        return
    import eval_ppl
    m, _ = eval_ppl.load_hf(d)
    case = [c for c in json.load(open(os.path.join(SHARED, "hf", "manifest.json")))["cases"]
            if c["model_dir"] == "hf-mixtral-micro"][0]
    with torch.no_grad():
        h, _, _ = m.hidden(torch.tensor([case["tokens"]]))
        lg = m.full_logits(h)[0].numpy()
    ref = np.fromfile(os.path.join(SHARED, "hf", case["ideal_logits"]), dtype="<f4").reshape(case["logits_shape"])
    err = float(np.abs(lg - ref).max())
    check("hf-mixtral-micro logits", err < 1e-3, "max |diff| %.2e" % err)


def tiny_config():
    return M.Config(vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32)


def test_safetensors():
    torch.manual_seed(0)
    t = {"a": torch.randn(3, 5), "b": torch.randn(7)}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.safetensors")
        st.write(p, t, "F32")
        r, meta = st.read(p)
        check("safetensors f32 round trip", all(torch.equal(t[k], r[k]) for k in t) and meta.get("format") == "pt")
        st.write(p, t, "BF16")
        r, _ = st.read(p)
        check("safetensors bf16 round trip",
              all(torch.equal(t[k].to(torch.bfloat16).float(), r[k]) for k in t))


def test_restricted_vocab():
    torch.manual_seed(1)
    c = tiny_config()
    seen = sorted(set(range(0, 300, 3)) | {1, 2})
    m = M.Mixtral(c, seen)
    m.init_weights(0.3)
    full = M.Mixtral.from_hf(c, m.hf_state_dict())
    ids = torch.randint(0, 300, (2, 16))
    tg = torch.randint(0, 300, (32,))
    with torch.no_grad():
        a = m.target_logprobs(m.hidden(ids)[0].reshape(-1, 32), tg)
        b = full.target_logprobs(full.hidden(ids)[0].reshape(-1, 32), tg)
    err = float((a - b).abs().max())
    check("restricted vocab = full softmax", err < 1e-5, "max |diff| %.2e" % err)
    tl = ppl.unigram_ppl([5, 5, 7], [1, 5, 7, 5, 5, 7, 9, 9], 4, 300)
    check("unigram baseline scores n_ctx/2-1 tokens per chunk", tl[1] == 2)


def test_resume():
    import data as D
    with tempfile.TemporaryDirectory() as d:
        corpus = os.path.join(d, "corpus")
        os.makedirs(corpus)
        rng = np.random.default_rng(0)
        words = ["the", "lord", "said", "unto", "Emma", "Elizabeth", "and", "was", "very", "happy", "."]
        with open(os.path.join(corpus, "train.jsonl"), "w") as f:
            for i in range(3):
                f.write(json.dumps({"source": "x", "doc": str(i), "text": " ".join(rng.choice(words, 400))}) + "\n")
        with open(os.path.join(corpus, "valid.txt"), "w") as f:
            f.write(" ".join(rng.choice(words, 200)) + "\n")
        tok = os.path.join(SHARED, "tokenizer", "mixtral-v1.tokenizer.model")
        if not os.path.exists(tok):
            tok = os.path.join(ROOT, "models", "smoe-mixtral-tiny", "tokenizer.model")
        common = [sys.executable, os.path.join(HERE, "train.py"), "--corpus", corpus, "--tokenizer", tok,
                  "--dim", "32", "--hidden", "48", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                  "--batch", "2", "--seq-len", "32", "--eval-ctx", "32", "--warmup", "2", "--threads", "1",
                  "--steps", "4", "--eval-every", "2", "--log-every", "1"]

        def run(tag, extra=()):
            ck = os.path.join(d, tag, "checkpoints")
            subprocess.run(common + ["--ckpt-dir", ck, "--log", os.path.join(d, tag, "log.txt")] + list(extra),
                           check=True, stdout=subprocess.DEVNULL)
            return ck

        a = torch.load(os.path.join(run("a"), "ckpt.pt"))["model"]
        b = torch.load(os.path.join(run("b"), "ckpt.pt"))["model"]
        check("training is deterministic", all(torch.equal(a[k], b[k]) for k in a))
        # Stop after step 2 by a SIGTERM-equivalent: --stop-after-minutes tiny stops after one step.
        ck = run("c", ["--stop-after-minutes", "1e-9"])
        s1 = torch.load(os.path.join(ck, "ckpt.pt"))["step"]
        run("c")
        c = torch.load(os.path.join(ck, "ckpt.pt"))
        check("resume equals uninterrupted run", s1 < 4 and c["step"] == 4 and all(torch.equal(a[k], c["model"][k]) for k in a),
              "stopped at %d" % s1)
        stream = D.load_train_stream(corpus, tok, os.path.join(d, "tok"))
        s = D.Sampler(stream, 32, 2, 7)
        x, y, _ = s.batch(3)
        check("sampler: BOS + shifted targets", (x[:, 0] == 1).all() and (x[:, 1:] == y[:, :-1]).all())


if __name__ == "__main__":
    torch.set_num_threads(1)
    test_hf_micro()
    test_safetensors()
    test_restricted_vocab()
    test_resume()
    print("%d passed, %d failed, %d skipped" % (results["passed"], results["failed"], results["skipped"]))
    sys.exit(1 if results["failed"] else 0)

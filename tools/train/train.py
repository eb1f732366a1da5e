#!/usr/bin/python3
"""Train smoe-mixtral-tiny (a small Mixtral, see model.py) on the corpus built by tools/corpus.

  nohup nice -n 10 /usr/bin/python3 tools/train/train.py --steps N > data/train.out 2>&1 &

Resumable: every --ckpt-minutes (and at the end, and on SIGTERM/SIGINT) the model, optimizer,
step, data position and RNG states are saved atomically to <ckpt-dir>/ckpt.pt; running the same
command again continues from there and produces the same result as an uninterrupted run (the
data order is a function of the step, see data.py). The log (<ckpt-dir>/../train_log.txt by
default) is appended to. Deterministic given --seed (fixed thread count; CPU kernels).
"""
import argparse
import json
import math
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Sleep rather than spin in OpenMP barriers: the 2 cores are shared with compiles, and spinning
# threads that wait for a descheduled peer made steps up to 10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import data as D  # noqa: E402
import model as M  # noqa: E402
import ppl  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Arguments that define the run; a resumed run must use the same values.
RUN_KEYS = ["seed", "steps", "batch", "seq_len", "lr", "min_lr_ratio", "warmup", "wd", "beta2",
            "aux_coef", "clip", "dim", "hidden", "layers", "heads", "kv_heads", "experts", "top_k",
            "threads", "restrict_vocab"]


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "data", "corpus"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "models", "smoe-mixtral-tiny", "tokenizer.model"))
    ap.add_argument("--ckpt-dir", default=os.path.join(ROOT, "data", "checkpoints"))
    ap.add_argument("--log", default=os.path.join(ROOT, "data", "train_log.txt"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--beta2", type=float, default=0.95)
    ap.add_argument("--aux-coef", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--restrict-vocab", type=int, default=1,
                    help="1: train only the embedding rows of ids seen in the training text (exact, see model.py)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-ctx", type=int, default=256)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--stop-after-minutes", type=float, default=0, help="save and exit after this long (0: no limit)")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps from scratch, save nothing")
    return ap.parse_args()


def lr_at(a, step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.lr * (a.min_lr_ratio + (1 - a.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def make_config(a):
    return M.Config(hidden_size=a.dim, intermediate_size=a.hidden, num_hidden_layers=a.layers,
                    num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.dim // a.heads,
                    num_local_experts=a.experts, num_experts_per_tok=a.top_k,
                    max_position_embeddings=a.seq_len, router_aux_loss_coef=a.aux_coef)


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    if not os.path.exists(a.tokenizer):
        a.tokenizer = os.path.join(ROOT, "..", "shared", "tokenizer", "mixtral-v1.tokenizer.model")
    cache = os.path.join(os.path.dirname(a.ckpt_dir), "tokens")
    stream = D.load_train_stream(a.corpus, a.tokenizer, cache)
    sampler = D.Sampler(stream, a.seq_len, a.batch, a.seed)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=a.tokenizer)
    valid = ppl.tokenize_file(sp, os.path.join(a.corpus, "valid.txt"))

    cfg = make_config(a)
    vocab_ids = None
    if a.restrict_vocab:
        vocab_ids = sorted(set(np.unique(stream).tolist()) | {cfg.bos_token_id, cfg.eos_token_id})
    model = M.Mixtral(cfg, vocab_ids)
    model.init_weights()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, a.beta2), eps=1e-8)

    run = {k: getattr(a, k) for k in RUN_KEYS}
    ckpt_path = os.path.join(a.ckpt_dir, "ckpt.pt")
    step, tokens_seen, train_seconds = 0, 0, 0.0
    if not a.bench and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        if ck["run"] != run:
            diff = {k: (ck["run"].get(k), run[k]) for k in run if ck["run"].get(k) != run[k]}
            sys.exit("checkpoint %s was made with other settings: %s" % (ckpt_path, diff))
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        torch.set_rng_state(ck["torch_rng"])
        np.random.set_state(ck["np_rng"])
        step, tokens_seen, train_seconds = ck["step"], ck["tokens_seen"], ck["train_seconds"]

    os.makedirs(a.ckpt_dir, exist_ok=True)
    logf = None if a.bench else open(a.log, "a", buffering=1)

    def log(msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        if logf:
            logf.write(line + "\n")

    total, active = M.param_counts(cfg)
    if step == 0 or a.bench:
        log("config %s" % json.dumps(cfg.to_hf()))
        log("run %s" % json.dumps(run))
        log("params total %d active/token %d; trained embedding rows %d of %d; train stream %d tokens, "
            "%d samples/epoch; valid %d tokens" % (total, active, model.embed_tokens.shape[0], cfg.vocab_size,
                                                   len(stream), sampler.per_epoch, len(valid)))
    else:
        log("resume at step %d (tokens %d, %.1f min trained)" % (step, tokens_seen, train_seconds / 60))

    def save():
        if a.bench:
            return
        ck = {"run": run, "config": cfg.to_hf(), "model": model.state_dict(), "opt": opt.state_dict(),
              "step": step, "tokens_seen": tokens_seen, "train_seconds": train_seconds,
              "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state()}
        tmp = ckpt_path + ".tmp"
        torch.save(ck, tmp)
        os.replace(tmp, ckpt_path)

    def validate():
        t = time.time()
        nll, n = ppl.evaluate(model, valid, a.eval_ctx)
        model.train()
        log("eval step %d valid_loss %.4f valid_ppl %.3f (%d tokens, ctx %d, %.0fs)"
            % (step, nll / n, math.exp(nll / n), n, a.eval_ctx, time.time() - t))

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    start_wall = time.time()
    last_ckpt = time.time()
    win_t, win_tok, win_loss, win_aux, win_n = time.time(), 0, 0.0, 0.0, 0
    model.train()
    end = min(a.steps, a.bench) if a.bench else a.steps
    while step < end:
        t0 = time.time()
        lr = lr_at(a, step)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, epoch = sampler.batch(step)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        h, aux, _ = model.hidden(x)
        lp = model.target_logprobs(h.reshape(-1, cfg.hidden_size), y.reshape(-1))
        ce = -lp.mean()
        loss = ce + a.aux_coef * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        tokens_seen += y.numel()
        train_seconds += time.time() - t0
        win_tok += y.numel()
        win_loss += ce.item()
        win_aux += aux.item()
        win_n += 1
        if step % a.log_every == 0 or step == end:
            dt = time.time() - win_t
            log("step %d/%d epoch %.3f lr %.3e loss %.4f aux %.4f gnorm %.3f tok/s %.0f tokens %d"
                % (step, a.steps, epoch, lr, win_loss / win_n, win_aux / win_n, gn.item(), win_tok / dt, tokens_seen))
            win_t, win_tok, win_loss, win_aux, win_n = time.time(), 0, 0.0, 0.0, 0
        if not a.bench and (step % a.eval_every == 0 or step == a.steps):
            validate()
        if not a.bench and time.time() - last_ckpt > a.ckpt_minutes * 60:
            save()
            last_ckpt = time.time()
        if stop["flag"] or (a.stop_after_minutes and time.time() - start_wall > a.stop_after_minutes * 60):
            save()
            log("stopped at step %d (checkpoint saved); run the same command to resume" % step)
            return
    save()
    if not a.bench:
        log("finished %d steps, %d tokens, %.1f min of training" % (step, tokens_seen, train_seconds / 60))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Sample text from an HF-layout Mixtral directory (float32 compute, no KV cache: for checks only).

  /usr/bin/python3 tools/train/generate.py --model models/smoe-mixtral-tiny --prompt "And it came to pass" -n 60
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402

import eval_ppl  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", default="")
    ap.add_argument("-n", type=int, default=60)
    ap.add_argument("--temp", type=float, default=0.0, help="0 = greedy")
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--routes", action="store_true", help="print the experts chosen per layer for each prompt token")
    a = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    m, cfg = eval_ppl.load_hf(a.model)
    m.eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.model, "tokenizer.model"))
    ids = [cfg.bos_token_id] + sp.encode(a.prompt)
    n_prompt = len(ids)
    with torch.no_grad():
        if a.routes:
            _, _, routes = m.hidden(torch.tensor([ids]))
            for t in range(n_prompt):
                print("%-12r" % sp.id_to_piece(ids[t]), " ".join("L%d:%s" % (l, ",".join(map(str, r[t].tolist())))
                                                               for l, r in enumerate(routes)))
        for _ in range(a.n):
            h, _, _ = m.hidden(torch.tensor([ids[-cfg.max_position_embeddings:]]))
            lg = m.full_logits(h[0, -1])
            if a.temp <= 0:
                nxt = int(lg.argmax())
            else:
                v, i = torch.topk(lg / a.temp, a.top_k)
                nxt = int(i[torch.multinomial(torch.softmax(v, -1), 1)])
            ids.append(nxt)
            if nxt == cfg.eos_token_id:
                break
    print(sp.decode(ids[1:]))


if __name__ == "__main__":
    main()

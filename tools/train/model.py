"""Mixtral (MixtralForCausalLM semantics of Hugging Face transformers) in plain PyTorch, for training
on CPU.

Architecture per layer: x += o_proj(Attention(RMSNorm(x))); x += MoE(RMSNorm(x)).
  * Attention: grouped-query (query head h uses KV head h // (n_heads / n_kv_heads)), causal,
    scale 1/sqrt(head_dim), RoPE with theta rope_theta applied HF-style (rotate halves:
    x[i] pairs with x[i + head_dim/2]).
  * MoE: router logits l = gate(h) over n_experts; p = softmax(l); the top-k experts by p, weights
    renormalised over those k (= softmax over the chosen k logits);
    out = sum_k w_k * w2_e(silu(w1_e h) * w3_e h).
  * Final RMSNorm, lm_head (tied to embed_tokens when tie_word_embeddings).

Training-only option `vocab_ids`: the embedding holds only the rows of token ids that occur in the
training text. The other rows are exactly zero (and stay zero): as inputs they embed to the zero
vector and as outputs their logit is exactly 0, so the full 32000-way log-partition is
logsumexp(seen logits, log(n_unseen)). That is the exact full-vocabulary softmax of the exported
model (whose unseen rows are zero), computed at a third of the cost.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, vocab_size=32000, hidden_size=256, intermediate_size=256, num_hidden_layers=6,
                 num_attention_heads=8, num_key_value_heads=2, head_dim=None, rope_theta=1e6,
                 rms_norm_eps=1e-5, num_local_experts=8, num_experts_per_tok=2,
                 max_position_embeddings=256, tie_word_embeddings=True, bos_token_id=1,
                 eos_token_id=2, router_aux_loss_coef=0.01, **_ignored):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim or hidden_size // num_attention_heads
        self.rope_theta = float(rope_theta)
        self.rms_norm_eps = rms_norm_eps
        self.num_local_experts = num_local_experts
        self.num_experts_per_tok = num_experts_per_tok
        self.max_position_embeddings = max_position_embeddings
        self.tie_word_embeddings = tie_word_embeddings
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.router_aux_loss_coef = router_aux_loss_coef

    def to_hf(self):
        """config.json of MixtralForCausalLM."""
        return {
            "architectures": ["MixtralForCausalLM"],
            "model_type": "mixtral",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "sliding_window": None,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "bfloat16",
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "attention_dropout": 0.0,
            "initializer_range": 0.02,
            "use_cache": True,
            "transformers_version": "4.36.0",
            "num_local_experts": self.num_local_experts,
            "num_experts_per_tok": self.num_experts_per_tok,
            "output_router_logits": False,
            "router_aux_loss_coef": self.router_aux_loss_coef,
        }


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(T, head_dim, theta, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    t = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(torch.float32), emb.sin().to(torch.float32)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + mask
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class SparseMoE(nn.Module):
    """block_sparse_moe: gate (router) and experts stored stacked: w1/w3 [E, I, D], w2 [E, D, I]."""

    def __init__(self, c):
        super().__init__()
        self.E, self.k = c.num_local_experts, c.num_experts_per_tok
        D, I = c.hidden_size, c.intermediate_size
        self.gate = nn.Linear(D, self.E, bias=False)
        self.w1 = nn.Parameter(torch.empty(self.E, I, D))
        self.w3 = nn.Parameter(torch.empty(self.E, I, D))
        self.w2 = nn.Parameter(torch.empty(self.E, D, I))

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        N = x.shape[0]
        logits = self.gate(x)                                   # [N, E]
        probs = torch.softmax(logits, dim=-1)
        topw, topi = torch.topk(probs, self.k, dim=-1)          # [N, k]
        topw = topw / topw.sum(dim=-1, keepdim=True)
        flat_e = topi.reshape(-1)
        order = torch.argsort(flat_e, stable=True)
        counts = torch.bincount(flat_e, minlength=self.E).tolist()
        tok_all = order // self.k
        w_all = topw.reshape(-1)[order]
        out = torch.zeros_like(x)
        start = 0
        for e, n in enumerate(counts):
            if n == 0:
                continue
            tok = tok_all[start:start + n]
            xe = x.index_select(0, tok)
            h = F.silu(xe @ self.w1[e].t()) * (xe @ self.w3[e].t())
            ye = (h @ self.w2[e].t()) * w_all[start:start + n, None]
            out.index_add_(0, tok, ye)
            start += n
        # Load-balancing loss as transformers' load_balancing_loss_func (Switch Transformer):
        # E * sum_e f_e * P_e summed over the k selection slots; f = fraction of tokens whose slot-j
        # choice is e, P_e = mean router probability. Equals k (=2) when perfectly balanced.
        f = F.one_hot(topi, self.E).to(x.dtype).mean(dim=0)     # [k, E]
        P = probs.mean(dim=0)                                   # [E]
        aux = self.E * (f * P.unsqueeze(0)).sum()
        return out.view(shape), aux, topi


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.block_sparse_moe = SparseMoE(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        m, aux, topi = self.block_sparse_moe(self.post_attention_layernorm(x))
        return x + m, aux, topi


class Mixtral(nn.Module):
    def __init__(self, c, vocab_ids=None):
        super().__init__()
        self.c = c
        if vocab_ids is not None:
            vocab_ids = torch.as_tensor(sorted(set(int(i) for i in vocab_ids)), dtype=torch.long)
            id_map = torch.full((c.vocab_size,), len(vocab_ids), dtype=torch.long)
            id_map[vocab_ids] = torch.arange(len(vocab_ids))
            self.register_buffer("vocab_ids", vocab_ids, persistent=True)
            self.register_buffer("id_map", id_map, persistent=True)
            nrows = len(vocab_ids)
        else:
            self.vocab_ids = None
            nrows = c.vocab_size
        self.embed_tokens = nn.Parameter(torch.empty(nrows, c.hidden_size))
        self.layers = nn.ModuleList([Block(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = None if c.tie_word_embeddings else nn.Parameter(torch.empty(nrows, c.hidden_size))
        self._rope = {}

    def init_weights(self, std=0.02):
        out_std = std / math.sqrt(2 * self.c.num_hidden_layers)
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "norm.weight":
                nn.init.ones_(p)
            elif name.endswith("o_proj.weight") or name.endswith(".w2"):
                nn.init.normal_(p, 0.0, out_std)
            else:
                nn.init.normal_(p, 0.0, std)

    def rope(self, T):
        if T not in self._rope:
            self._rope[T] = rope_cos_sin(T, self.c.head_dim, self.c.rope_theta)
        return self._rope[T]

    def hidden(self, ids):
        """ids [B, T] (full vocabulary ids) -> final normed hidden [B, T, D], mean aux, routes."""
        B, T = ids.shape
        if self.vocab_ids is not None:
            table = torch.cat([self.embed_tokens, self.embed_tokens.new_zeros(1, self.c.hidden_size)])
            x = F.embedding(self.id_map[ids], table)
        else:
            x = F.embedding(ids, self.embed_tokens)
        cos, sin = self.rope(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        auxes, routes = [], []
        for layer in self.layers:
            x, aux, topi = layer(x, cos, sin, mask)
            auxes.append(aux)
            routes.append(topi)
        return self.norm(x), torch.stack(auxes).mean(), routes

    def out_weight(self):
        return self.embed_tokens if self.lm_head is None else self.lm_head

    def logits(self, h):
        """Logits over the stored rows (all 32000 ids, or the seen ids in training mode)."""
        return h @ self.out_weight().t()

    def log_partition(self, lg):
        if self.vocab_ids is None:
            return torch.logsumexp(lg, dim=-1)
        n_unseen = self.c.vocab_size - self.vocab_ids.numel()
        const = lg.new_full(lg.shape[:-1] + (1,), math.log(n_unseen))
        return torch.logsumexp(torch.cat([lg, const], dim=-1), dim=-1)

    def target_logprobs(self, h, targets):
        """Exact full-vocabulary log p(target) for hidden states h [N, D], targets [N] (full ids)."""
        lg = self.logits(h)
        logz = self.log_partition(lg)
        if self.vocab_ids is None:
            tl = lg.gather(-1, targets[:, None])[:, 0]
        else:
            rows = self.id_map[targets]
            seen = rows < self.vocab_ids.numel()
            tl = lg.gather(-1, rows.clamp(max=self.vocab_ids.numel() - 1)[:, None])[:, 0]
            tl = torch.where(seen, tl, torch.zeros_like(tl))
        return tl - logz

    def full_logits(self, h):
        """Logits over all 32000 ids (zeros for unseen rows in training mode)."""
        lg = self.logits(h)
        if self.vocab_ids is None:
            return lg
        full = lg.new_zeros(lg.shape[:-1] + (self.c.vocab_size,))
        full[..., self.vocab_ids] = lg
        return full

    # ---- Hugging Face layout ----
    def hf_state_dict(self):
        """Tensors with transformers' MixtralForCausalLM names (float32, full vocabulary)."""
        sd = {}
        emb = self.embed_tokens.detach()
        if self.vocab_ids is not None:
            full = emb.new_zeros(self.c.vocab_size, self.c.hidden_size)
            full[self.vocab_ids] = emb
            emb = full
        sd["model.embed_tokens.weight"] = emb
        for i, L in enumerate(self.layers):
            p = "model.layers.%d." % i
            sd[p + "input_layernorm.weight"] = L.input_layernorm.weight.detach()
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                sd[p + "self_attn.%s.weight" % n] = getattr(L.self_attn, n).weight.detach()
            sd[p + "post_attention_layernorm.weight"] = L.post_attention_layernorm.weight.detach()
            moe = L.block_sparse_moe
            sd[p + "block_sparse_moe.gate.weight"] = moe.gate.weight.detach()
            for e in range(moe.E):
                sd[p + "block_sparse_moe.experts.%d.w1.weight" % e] = moe.w1[e].detach()
                sd[p + "block_sparse_moe.experts.%d.w2.weight" % e] = moe.w2[e].detach()
                sd[p + "block_sparse_moe.experts.%d.w3.weight" % e] = moe.w3[e].detach()
        sd["model.norm.weight"] = self.norm.weight.detach()
        if self.lm_head is not None:
            lm = self.lm_head.detach()
            if self.vocab_ids is not None:
                full = lm.new_zeros(self.c.vocab_size, self.c.hidden_size)
                full[self.vocab_ids] = lm
                lm = full
            sd["lm_head.weight"] = lm
        return {k: v.contiguous() for k, v in sd.items()}

    @classmethod
    def from_hf(cls, c, sd):
        """Full-vocabulary model from transformers-named tensors."""
        m = cls(c)
        with torch.no_grad():
            m.embed_tokens.copy_(sd["model.embed_tokens.weight"])
            for i, L in enumerate(m.layers):
                p = "model.layers.%d." % i
                L.input_layernorm.weight.copy_(sd[p + "input_layernorm.weight"])
                for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                    getattr(L.self_attn, n).weight.copy_(sd[p + "self_attn.%s.weight" % n])
                L.post_attention_layernorm.weight.copy_(sd[p + "post_attention_layernorm.weight"])
                moe = L.block_sparse_moe
                moe.gate.weight.copy_(sd[p + "block_sparse_moe.gate.weight"])
                for e in range(moe.E):
                    moe.w1[e].copy_(sd[p + "block_sparse_moe.experts.%d.w1.weight" % e])
                    moe.w2[e].copy_(sd[p + "block_sparse_moe.experts.%d.w2.weight" % e])
                    moe.w3[e].copy_(sd[p + "block_sparse_moe.experts.%d.w3.weight" % e])
            m.norm.weight.copy_(sd["model.norm.weight"])
            if m.lm_head is not None:
                m.lm_head.copy_(sd["lm_head.weight"])
        return m


def param_counts(c):
    """(total, active per token) parameters of the exported model (full 32000-row embedding)."""
    D, I, E, k = c.hidden_size, c.intermediate_size, c.num_local_experts, c.num_experts_per_tok
    attn = D * c.num_attention_heads * c.head_dim * 2 + D * c.num_key_value_heads * c.head_dim * 2
    expert = 3 * D * I
    per_layer_fixed = attn + D * E + 2 * D
    emb = c.vocab_size * D
    head = 0 if c.tie_word_embeddings else c.vocab_size * D
    total = emb + head + D + c.num_hidden_layers * (per_layer_fixed + E * expert)
    active = emb + head + D + c.num_hidden_layers * (per_layer_fixed + k * expert)
    return total, active

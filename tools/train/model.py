"""A small Llama (RMSNorm, half-split RoPE as HF, GQA, SiLU-gated MLP, tied embeddings) with
Memory³ explicit memory: memory layers read per-chunk memory K/V in one joint softmax beside the
causal context, and `encode_memories` writes sparse memories exactly as the engine's writer does
(src/memory/writer.ts): [prefix + reference] at positions 0.., selection score of token j
w_j = Σ_{h in the GQA group} Σ_i exp(q_i·k_j/√d) on un-rotated q, k of the reference tokens only
(no mask, prefix excluded), top-k per (memory layer, kv head), keys kept after RoPE."""
import math
from dataclasses import dataclass, field, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 640
    num_hidden_layers: int = 4
    num_attention_heads: int = 8
    num_key_value_heads: int = 2
    head_dim: int = 32
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 512
    memory_layers: list = field(default_factory=lambda: [0, 1])
    tokens_per_head: int = 8
    reference_length: int = 128
    memories_per_retrieval: int = 5
    retrieval_interval: int = 64
    min_relative_score: float = None

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, positions):
    """cos, sin of shape (T, head_dim) for int positions (T), half-split layout as HF Llama."""
    inv = 1.0 / cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim)
    ang = positions.to(torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().float(), ang.sin().float()


def rotate(x, cos, sin):
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
    return x * cos + rot * sin


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        H, G, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, H * d, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, G * d, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, G * d, bias=False)
        self.o_proj = nn.Linear(H * d, cfg.hidden_size, bias=False)

    def project(self, x):
        B, T, _ = x.shape
        c = self.cfg
        q = self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        return q, k, v  # (B, H|G, T, d), un-rotated

    def forward(self, x, cos, sin, memory=None, capture=None):
        """memory: dict(k, v: (B, C, G, M, d) post-RoPE, valid: (B, C, M) bool, chunk: (T,) long, -1 = none)."""
        c = self.cfg
        B, T, _ = x.shape
        q, k, v = self.project(x)
        if capture is not None:
            capture.update(q=q, k=k)
        qr, kr = rotate(q, cos, sin), rotate(k, cos, sin)
        if capture is not None:
            capture.update(k_rot=kr, v=v)
        rep = c.num_attention_heads // c.num_key_value_heads
        kx, vx = kr.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        scale = 1.0 / math.sqrt(c.head_dim)
        s = (qr @ kx.transpose(-1, -2)) * scale  # (B, H, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        s = s.masked_fill(~causal, float('-inf'))
        if memory is None:
            o = torch.softmax(s, -1) @ vx
        else:
            # Scores against every chunk's slots, then each position keeps only its own chunk's
            # (cheaper than gathering per-position copies of the slots: chunks are few).
            mk = memory['k'].repeat_interleave(rep, 2)  # (B, C, H, M, d)
            mv = memory['v'].repeat_interleave(rep, 2)
            C, M = mk.shape[1], mk.shape[3]
            sm = torch.einsum('bhtd,bchmd->bhtcm', qr, mk) * scale
            own = memory['chunk'][:, None] == torch.arange(C)[None, :]          # (T, C)
            ok = own[None, :, :, None] & memory['valid'][:, None, :, :]         # (B, T, C, M)
            sm = sm.masked_fill(~ok[:, None], float('-inf')).reshape(B, -1, T, C * M)
            p = torch.softmax(torch.cat([sm, s], -1), -1)
            pm = p[..., :C * M].reshape(B, -1, T, C, M)
            o = torch.einsum('bhtcm,bchmd->bhtd', pm, mv) + p[..., C * M:] @ vx
        return self.o_proj(o.transpose(1, 2).reshape(B, T, -1))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, memory=None, capture=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, memory, capture)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.apply(self._init)
        for b in self.layers:
            nn.init.normal_(b.self_attn.o_proj.weight, std=0.02 / math.sqrt(2 * cfg.num_hidden_layers))
            nn.init.normal_(b.down_proj.weight, std=0.02 / math.sqrt(2 * cfg.num_hidden_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, positions=None, memory=None, layers=None, captures=None):
        """ids (B, T); positions (T,) long; memory: per-layer dict (see Attention) or None.
        layers: run only the first `layers` blocks and return None (memory encoding)."""
        T = ids.shape[1]
        if positions is None:
            positions = torch.arange(T)
        cos, sin = rope_tables(self.cfg, positions)
        x = self.embed_tokens(ids)
        n = len(self.layers) if layers is None else layers
        for i in range(n):
            mem = None
            if memory is not None and i in self.cfg.memory_layers:
                li = self.cfg.memory_layers.index(i)
                mem = dict(memory, k=memory['k'][:, :, li], v=memory['v'][:, :, li])
            cap = captures[i] if captures is not None and i in captures else None
            x = self.layers[i](x, cos, sin, mem, cap)
        if layers is not None:
            return None
        return self.norm(x) @ self.embed_tokens.weight.T


@torch.no_grad()
def encode_memories(model, prefix, refs):
    """refs: list of token-id lists (1..reference_length tokens, prefix not included).
    Returns k, v: (R, memLayers, G, k, d) post-RoPE, positions (R, memLayers, G, k) and valid (R, k):
    a reference shorter than tokens_per_head keeps all its tokens and its remaining slots are
    unused (valid False: masked out of the softmax, as the engine does), never filled with copies."""
    cfg, P = model.cfg, len(prefix)
    R, n_max = len(refs), max(len(r) for r in refs)
    ids = torch.zeros(R, P + n_max, dtype=torch.long)
    lens = torch.tensor([len(r) for r in refs])
    for i, r in enumerate(refs):
        ids[i, :P] = torch.tensor(prefix)
        ids[i, P:P + len(r)] = torch.tensor(r)
    caps = {l: {} for l in cfg.memory_layers}
    model(ids, torch.arange(P + n_max), layers=max(cfg.memory_layers) + 1, captures=caps)
    G, H, d, K = cfg.num_key_value_heads, cfg.num_attention_heads, cfg.head_dim, cfg.tokens_per_head
    valid = torch.arange(n_max)[None, :] < lens[:, None]  # (R, n)
    kept = min(K, n_max)
    slot_ok = torch.arange(K)[None, :] < lens.clamp(max=K)[:, None]   # (R, K)
    ks, vs, ps = [], [], []
    for l in cfg.memory_layers:
        c = caps[l]
        q = c['q'][:, :, P:].reshape(R, G, H // G, n_max, d)  # (R, G, rep, n, d)
        k = c['k'][:, :, P:]                                    # (R, G, n, d)
        s = torch.einsum('rgaid,rgjd->rgaij', q, k) / math.sqrt(d)
        s = s.masked_fill(~valid[:, None, None, :, None], float('-inf'))  # queries i of the reference only
        score = torch.logsumexp(s.reshape(R, G, -1, n_max), dim=2)        # (R, G, n)
        score = score.masked_fill(~valid[:, None, :], float('-inf'))
        top = score.topk(kept, dim=-1).indices                            # (R, G, k')
        if kept < K:
            top = torch.cat([top, torch.zeros(R, G, K - kept, dtype=top.dtype)], -1)
        top = torch.where(slot_ok[:, None, :], top, torch.zeros_like(top))  # unused slots: any row, masked
        idx = top[..., None].expand(R, G, K, d)
        ks.append(c['k_rot'][:, :, P:].gather(2, idx))
        vs.append(c['v'][:, :, P:].gather(2, idx))
        ps.append(top + P)
    return torch.stack(ks, 1), torch.stack(vs, 1), torch.stack(ps, 1), slot_ok

"""Explicit memory for training and evaluation, mirroring the engine (src/memory, src/engine/memory-feeder.ts;
references and retrieval: references.py, bm25.py, tasks.Bank): the engine's near-copy measure, and the parallel layout
[prefix @0..b) [memories @b..b+reference_length) [context from b+reference_length]:
each retrieval_interval-token chunk of the context attends to its own chunk's memories."""
from collections import Counter

import torch

from model import encode_memories


def prefix_ids(bpe):
    """'<s>Reference:' → [<s>] + ids of 'Reference:' (as src/memory/references.ts prefixTokens)."""
    return [0] + bpe.encode('Reference:')


def overlap_ratio(q, r):
    """The engine's near-copy measure (src/memory/retrieval/dedup.ts): |Q ∩ R| / |R| over token multisets."""
    if not r:
        return 0.0
    counts, shared = Counter(q), 0
    for t in r:
        if counts[t] > 0:
            shared += 1
            counts[t] -= 1
    return shared / len(r)


def memory_batch(model, prefix, contexts, refs, encode=None):
    """contexts: B id lists of equal length T (the context after the prefix); refs[b][c]: the
    reference id lists chunk c of context b attends to (≤ memories_per_retrieval).
    encode(flat refs) → keys, values (R, memLayers, G, k, d), positions: encode_memories by default;
    evaluate_bank.py passes the records of an exported bank instead (refs are then its indices).
    Returns ids (B, P+T), positions (P+T,), memory dict for Llama.forward, kept positions per chunk."""
    cfg, P, T = model.cfg, len(prefix), len(contexts[0])
    n, C = cfg.retrieval_interval, (len(contexts[0]) + cfg.retrieval_interval - 1) // cfg.retrieval_interval
    ids = torch.tensor([prefix + c for c in contexts])
    positions = torch.cat([torch.arange(P), torch.arange(P, P + T) + cfg.reference_length])
    chunk = torch.cat([torch.full((P,), -1), torch.arange(T) // n])
    flat = [r for per in refs for ch in per for r in ch]
    B, mL, G, K, d = len(contexts), len(cfg.memory_layers), cfg.num_key_value_heads, cfg.tokens_per_head, cfg.head_dim
    M = cfg.memories_per_retrieval * K
    k = torch.zeros(B, C, mL, G, M, d)
    v = torch.zeros(B, C, mL, G, M, d)
    valid = torch.zeros(B, C, M, dtype=torch.bool)
    kept = [[None] * C for _ in range(B)]
    if flat:
        enc = (encode or (lambda f: encode_memories(model, prefix, f)))(flat)
        fk, fv, fp = enc[:3]
        fok = enc[3] if len(enc) > 3 else torch.ones(len(flat), K, dtype=torch.bool)
        j = 0
        for b in range(B):
            for c in range(C):
                m = len(refs[b][c]) if c < len(refs[b]) else 0
                for r in range(m):
                    k[b, c, :, :, r * K:(r + 1) * K] = fk[j]
                    v[b, c, :, :, r * K:(r + 1) * K] = fv[j]
                    valid[b, c, r * K:(r + 1) * K] = fok[j]
                    j += 1
                kept[b][c] = fp[j - m:j]
    return ids, positions, {'k': k, 'v': v, 'valid': valid, 'chunk': chunk}, kept

"""Explicit memory for training and evaluation, mirroring the engine (src/memory, src/engine/memory-feeder.ts):
references of ≤ reference_length tokens, a lexical retriever (idf-weighted word overlap; the engine's
retriever is pluggable) with the engine's near-copy rule (overlapRatio > 2/3 is skipped,
src/memory/retrieval/dedup.ts), and the parallel layout
[prefix @0..b) [memories @b..b+reference_length) [context from b+reference_length]:
each retrieval_interval-token chunk of the context attends to its own chunk's memories."""
import math, re
from collections import Counter, defaultdict

import torch

from model import encode_memories

STOP = set('the and for with that this from are was were which its has have not but also any all one two can '
           'used use who how than other into such may more most some see etc'.split())
WORD = re.compile(r'[a-z0-9]{3,}')


def prefix_ids(bpe):
    """'<s>Reference:' → [<s>] + ids of 'Reference:' (as src/memory/references.ts prefixTokens)."""
    return [0] + bpe.encode('Reference:')


def cut(ids, length, minimum=8):
    """A document's ids → references of ≤ length tokens (the last one kept if ≥ minimum tokens)."""
    out = [ids[i:i + length] for i in range(0, len(ids), length)]
    return [r for r in out if len(r) >= minimum]


def overlap_ratio(q, r):
    denom = min(len(q), len(r))
    if denom == 0:
        return 0.0
    counts, shared = Counter(q), 0
    for t in r:
        if counts[t] > 0:
            shared += 1
            counts[t] -= 1
    return shared / denom


def words(text):
    return {w for w in WORD.findall(text.lower()) if w not in STOP}


class Retriever:
    """refs: list of (doc_id, ids, text). retrieve(query ids, text) → up to n reference indices."""

    def __init__(self, refs, max_df=0.05):
        self.refs = refs
        self.index = defaultdict(list)
        for i, (_, _, text) in enumerate(refs):
            for w in words(text):
                self.index[w].append(i)
        n = len(refs)
        self.idf = {w: math.log(n / len(p)) for w, p in self.index.items() if len(p) <= max(5, max_df * n)}

    def retrieve(self, q_ids, q_text, n=5, exclude_doc=None, dedup=2 / 3):
        score = Counter()
        for w in sorted(words(q_text)):  # a fixed order: ties rank the same in every process
            idf = self.idf.get(w)
            if idf:
                for i in self.index[w]:
                    score[i] += idf
        out = []
        for i, _ in score.most_common(4 * n + 8):
            doc, ids, _ = self.refs[i]
            if doc == exclude_doc or (dedup is not None and overlap_ratio(q_ids, ids) > dedup):
                continue
            out.append(i)
            if len(out) == n:
                break
        return out


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
        fk, fv, fp = (encode or (lambda f: encode_memories(model, prefix, f)))(flat)
        j = 0
        for b in range(B):
            for c in range(C):
                m = len(refs[b][c]) if c < len(refs[b]) else 0
                for r in range(m):
                    k[b, c, :, :, r * K:(r + 1) * K] = fk[j]
                    v[b, c, :, :, r * K:(r + 1) * K] = fv[j]
                    j += 1
                valid[b, c, :m * K] = True
                kept[b][c] = fp[j - m:j]
    return ids, positions, {'k': k, 'v': v, 'valid': valid, 'chunk': chunk}, kept

#!/usr/bin/env python3
"""Evaluation of what ships: the exported model (public/models/memory3-tiny, f16 weights computed in
f32) with the bank the engine built and exported (public/banks/memory3-tiny-knowledge.m3bank, read by
bank_file.py: the engine's references and its int8 records). PyTorch retrieves over the bank's
references with the lexical retriever of memory.py and splices the engine's records, so the engine's
writer, codec and file format are checked by an independent implementation on the task itself:
  - records: for a sample of references, PyTorch re-encodes each one (encode_memories, f32) and
    compares the kept positions and the keys/values with the engine's int8 records;
  - knowledge perplexity over the same 48 held-out documents as evaluate.py (first 128 tokens), each
    document's own references excluded (and the near-copy rule): none, RAG (references' text in
    front), memory from the engine's records, memory from PyTorch's re-encoding of the same references;
  - exact match on the same templated element questions (retrieval without the near-copy rule).
Merges its figures into bench/results/eval.json under "shipped" and prints a summary line last.
Usage: evaluate_bank.py [--smoke]"""
import argparse, json, math, os, random

import numpy as np
import torch
import torch.nn.functional as F

from bank_file import read_bank
from data import BOS, tokenizer
from evaluate import RESULTS, greedy, knowledge, nll_memory, nll_none, nll_rag, questions
from export import OUT, ROOT, load_exported
from memory import Retriever, encode_memories, prefix_ids

BANK = os.path.join(ROOT, 'public', 'banks', 'memory3-tiny-knowledge.m3bank')


def source_names(kdocs):
    """The engine's document names for the knowledge set (tools/bank/build.ts knowledgeDocuments)."""
    seen, out = {}, []
    for d in kdocs:
        base = f"{d['source']}/{d['head']}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f'{base}#{seen[base]}')
    return out


class ShippedBank:
    def __init__(self, path, bpe):
        self.meta, self.refs, k, v, p = read_bank(path)
        self.k, self.v, self.p = torch.from_numpy(k), torch.from_numpy(v), torch.from_numpy(p)
        self.decode = bpe.decode
        self.ids = [bpe.encode(r['text']) for r in self.refs]
        self.retriever = Retriever([(r['source'], ids, r['text']) for r, ids in zip(self.refs, self.ids)])
        self.index = {}   # id list → first reference with that text (same text, same record)
        for i, ids in enumerate(self.ids):
            self.index.setdefault(tuple(ids), i)

    def indices(self, q_ids, q_text, n, dedup=2 / 3, exclude=None):
        return self.retriever.retrieve(q_ids, q_text, n, exclude_doc=exclude, dedup=dedup)

    def get(self, q_ids, q_text, n, dedup=2 / 3, exclude=None):
        """Reference id lists, as evaluate.Bank.get (for evaluate.nll_rag)."""
        return [self.ids[i] for i in self.indices(q_ids, q_text, n, dedup, exclude)]

    def records(self, flat):
        """The stored records of references given as indices or as id lists (memory_batch's encode)."""
        idx = [r if isinstance(r, int) else self.index[tuple(r)] for r in flat]
        return self.k[idx], self.v[idx], self.p[idx]


def compare_records(model, pre, bank, n, rng):
    """PyTorch's encoding of n random references vs the engine's stored int8 records."""
    pick = rng.sample(range(len(bank.refs)), n)
    same_pos, total_pos, err, scale = 0, 0, 0.0, 0.0
    for i in range(0, n, 64):
        batch = pick[i:i + 64]
        with torch.no_grad():
            k, v, p = encode_memories(model, pre, [bank.ids[j] for j in batch])
        ek, ev, ep = bank.records(batch)
        for r in range(len(batch)):
            for l in range(p.shape[1]):
                for g in range(p.shape[2]):
                    a, b = set(p[r, l, g].tolist()), set(ep[r, l, g].tolist())
                    same_pos += len(a & b)
                    total_pos += len(b)
        # Values where both kept the same token in the same slot: |Δ| relative to the vector's scale.
        match = (p == ep)[..., None]
        err = max(err, float(((k - ek).abs() * match).amax()), float(((v - ev).abs() * match).amax()))
        scale = max(scale, float(ek.abs().amax()), float(ev.abs().amax()))
    return {'references': n, 'kept_positions_agree_pct': 100.0 * same_pos / total_pos,
            'max_abs_diff_same_slot': err, 'max_abs_value': scale}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--docs', type=int, default=48)
    ap.add_argument('--smoke', action='store_true')
    a = ap.parse_args()
    model, bpe = load_exported(), tokenizer()
    pre = prefix_ids(bpe)
    bank = ShippedBank(BANK, bpe)
    manifest = json.load(open(BANK[:-len('.m3bank')] + '.json'))
    kdocs = knowledge()
    names = dict(zip(map(id, kdocs), source_names(kdocs)))
    rng = random.Random(0)
    sample = [d for d in kdocs if d['source'] == 'elements'][:a.docs // 3] + rng.sample([d for d in kdocs if d['source'] != 'elements'], a.docs - a.docs // 3)
    if a.smoke:
        sample = sample[:3]
    res = {'model': os.path.relpath(OUT, ROOT), 'bank': os.path.relpath(BANK, ROOT), 'bank_sha256': manifest['sha256'],
           'bank_references': len(bank.refs), 'codec': bank.meta['codec'], 'knowledge_docs_scored': len(sample)}
    rec = res['records_vs_pytorch'] = compare_records(model, pre, bank, 64 if a.smoke else 512, random.Random(1))
    # Selection ties may flip between GPU and CPU arithmetic; anything more means the engine's writer,
    # codec or file format and this implementation disagree.
    if rec['kept_positions_agree_pct'] < 95 or rec['max_abs_diff_same_slot'] > 2 * rec['max_abs_value'] / 127:
        raise SystemExit(f'the bank\'s records disagree with PyTorch\'s encoding: {rec}')
    modes = {
        'none': lambda ids, ex: nll_none(model, ids),
        'rag': lambda ids, ex: nll_rag(model, bpe, bank, ids, 2 / 3, model.cfg.memories_per_retrieval, model.cfg.retrieval_interval, ex),
        'memory': lambda ids, ex: nll_memory(model, bpe, bank, ids, pre, 2 / 3, ex, encode=bank.records),
        'memory_pytorch_encoded': lambda ids, ex: nll_memory(model, bpe, bank, ids, pre, 2 / 3, ex),
    }
    texts = [([BOS] + bpe.encode(d['text'])[:model.cfg.retrieval_interval * 2], names[id(d)]) for d in sample]
    ppl = {}
    for name, f in modes.items():
        s = [f(ids, ex) for ids, ex in texts]
        ppl[name] = math.exp(sum(x for x, _ in s) / sum(n for _, n in s))
    res['knowledge_ppl'] = ppl
    qs = questions(kdocs)[:6 if a.smoke else None]
    qa, found, examples = {}, 0, []
    for mode in ['none', 'rag', 'memory']:
        right = 0
        for i, (q, ans) in enumerate(qs):
            want = bpe.encode(ans)
            q_ids = [BOS] + bpe.encode(q)
            got = greedy(model, bpe, bank, mode, q_ids, len(want), pre, encode=bank.records)
            right += got == want
            sources = [bank.refs[j]['source'] for j in bank.indices(q_ids, q, model.cfg.memories_per_retrieval, None)] if mode != 'none' else []
            if mode == 'memory':
                found += f"elements/{q.split(' ')[0]}" in sources
            if i < 4:
                examples.append({'mode': mode, 'question': q, 'answer': ans, 'generated': bpe.decode(got), 'memories': sources})
        qa[mode] = 100.0 * right / len(qs)
    res['qa_exact_match_pct'] = qa
    res['qa_questions'] = len(qs)
    res['qa_answer_reference_retrieved_pct'] = 100.0 * found / len(qs)
    res['qa_examples'] = examples
    line = (f"eval (shipped bank): knowledge ppl none {ppl['none']:.2f} rag {ppl['rag']:.2f} memory {ppl['memory']:.2f} "
            f"(pytorch-encoded {ppl['memory_pytorch_encoded']:.2f}); qa none {qa['none']:.1f}% rag {qa['rag']:.1f}% memory {qa['memory']:.1f}%; "
            f"records: {res['records_vs_pytorch']['kept_positions_agree_pct']:.1f}% positions agree")
    res['summary'] = line
    print(json.dumps(res, indent=1))
    if not a.smoke:
        out = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
        out['shipped'] = res
        json.dump(out, open(RESULTS, 'w'), indent=1)
    print(line)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Evaluation of what ships: the exported model (public/models/memory3-tiny, f16 weights computed in
f32) with the bank the engine built and exported (public/banks/memory3-tiny-knowledge.m3bank, read by
bank_file.py: the engine's references and its int8 records). PyTorch retrieves over the bank's own
references with the engine's BM25 (bm25.py) and splices the engine's records, so the engine's
writer, codec and file format are checked by an independent implementation on the task itself:
  - records: for a sample of references, PyTorch re-encodes each one (encode_memories, f32) and
    compares the kept positions and the keys/values with the engine's int8 records (used slots only:
    a reference shorter than tokens_per_head leaves the rest unused);
  - exact match on the held-out questions (bench/data/qa-heldout.json) with the engine's records
    spliced, and with PyTorch's own encoding of the same references.
Merges its figures into bench/results/eval.json under "shipped" and prints a summary line last.
Usage: evaluate_bank.py [--smoke]"""
import argparse, json, os, random
from collections import defaultdict

import torch

from bank_file import read_bank
from bm25 import Bm25
from data import tokenizer
from evaluate import RESULTS
from export import OUT, ROOT, load_exported
from memory import prefix_ids
from model import encode_memories
from qa import exact_match, generate, reply_text
from tasks import chat_prompt, qa_query

BANK = os.path.join(ROOT, 'public', 'banks', 'memory3-tiny-knowledge.m3bank')
QA = os.path.join(ROOT, 'bench', 'data', 'qa-heldout.json')


class ShippedBank:
    def __init__(self, path, bpe, K):
        self.meta, self.refs, k, v, p = read_bank(path)
        self.k, self.v, self.p = torch.from_numpy(k), torch.from_numpy(v), torch.from_numpy(p)
        self.ids = [bpe.encode(r['text']) for r in self.refs]
        self.slots = torch.tensor([[t < min(len(ids), K) for t in range(K)] for ids in self.ids])
        self.bm25 = Bm25()
        for i, r in enumerate(self.refs):
            self.bm25.add(i, r['text'])
        self.index = {tuple(ids): i for i, ids in reversed(list(enumerate(self.ids)))}

    def retrieve(self, query, n, cut):
        hits = self.bm25.search(query, n)
        if cut is not None and hits:
            hits = [h for h in hits if h[1] >= cut * hits[0][1]]
        return [i for i, _ in hits]

    def records(self, flat):
        """memory_batch's encode: the stored records of references given as id lists."""
        idx = [self.index[tuple(r)] for r in flat]
        return self.k[idx], self.v[idx], self.p[idx], self.slots[idx]


def compare_records(model, pre, bank, n, rng):
    """PyTorch's encoding of n random references vs the engine's stored int8 records (used slots)."""
    pick = rng.sample(range(len(bank.refs)), min(n, len(bank.refs)))
    same_pos, total_pos, err, scale = 0, 0, 0.0, 0.0
    for i in range(0, len(pick), 64):
        batch = pick[i:i + 64]
        with torch.no_grad():
            k, v, p, ok = encode_memories(model, pre, [bank.ids[j] for j in batch])
        ek, ev, ep, eok = bank.records([bank.ids[j] for j in batch])
        for r in range(len(batch)):
            used = int(ok[r].sum())
            for l in range(p.shape[1]):
                for g in range(p.shape[2]):
                    a, b = set(p[r, l, g, :used].tolist()), set(ep[r, l, g, :used].tolist())
                    same_pos += len(a & b)
                    total_pos += len(b)
        match = ((p == ep) & ok[:, None, None, :])[..., None]
        err = max(err, float(((k - ek).abs() * match).amax()), float(((v - ev).abs() * match).amax()))
        scale = max(scale, float(ek.abs().amax()), float(ev.abs().amax()))
    return {'references': len(pick), 'kept_positions_agree_pct': round(100.0 * same_pos / total_pos, 2),
            'max_abs_diff_same_slot': round(err, 4), 'max_abs_value': round(scale, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--smoke', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, bpe = load_exported(), tokenizer()
    cfg, pre = model.cfg, prefix_ids(bpe)
    bank = ShippedBank(BANK, bpe, cfg.tokens_per_head)
    manifest = json.load(open(BANK[:-len('.m3bank')] + '.json'))
    res = {'model': os.path.relpath(OUT, ROOT), 'bank': os.path.relpath(BANK, ROOT), 'bank_sha256': manifest['sha256'],
           'bank_references': len(bank.refs), 'codec': bank.meta['codec']}
    rec = res['records_vs_pytorch'] = compare_records(model, pre, bank, 64 if a.smoke else 512, random.Random(1))
    # Selection ties may flip between GPU and CPU arithmetic; anything more means the engine's writer,
    # codec or file format and this implementation disagree.
    if rec['kept_positions_agree_pct'] < 95 or rec['max_abs_diff_same_slot'] > 2 * rec['max_abs_value'] / 127:
        raise SystemExit(f'the bank\'s records disagree with PyTorch\'s encoding: {rec}')
    qs = json.load(open(QA))['questions']
    if a.smoke:
        qs = qs[:4]
    right = {m: defaultdict(int) for m in ['memory_engine_records', 'memory_pytorch_encoded']}
    total, found = defaultdict(int), 0
    for q in qs:
        prompt = chat_prompt(bpe, q['question'])
        hits = bank.retrieve(qa_query(bpe, prompt), cfg.memories_per_retrieval, cfg.min_relative_score)
        found += any(bank.refs[i]['source'] == q['source'] for i in hits)
        refs = [bank.ids[i] for i in hits]
        for mode, enc in [('memory_engine_records', bank.records), ('memory_pytorch_encoded', None)]:
            reply = reply_text(bpe, generate(model, bpe, prompt, pre, refs, encode=enc, answer=q['answer']))
            right[mode][q['set']] += exact_match(reply, q['answer'])
        total[q['set']] += 1
    res['qa_exact_match_pct'] = {m: {s: round(100.0 * r[s] / total[s], 1) for s in total} for m, r in right.items()}
    res['qa_questions'] = dict(total)
    res['qa_answer_reference_retrieved_pct'] = round(100.0 * found / len(qs), 1)
    em = res['qa_exact_match_pct']
    line = (f"eval (shipped bank): qa memory {em['memory_engine_records'].get('heldout_entities', 0):.1f}% on held-out entities "
            f"(pytorch-encoded {em['memory_pytorch_encoded'].get('heldout_entities', 0):.1f}%); "
            f"records: {rec['kept_positions_agree_pct']:.1f}% positions agree")
    res['summary'] = line
    print(json.dumps(res, indent=1))
    if not a.smoke:
        out = json.load(open(RESULTS)) if os.path.exists(RESULTS) else {}
        out['shipped'] = res
        json.dump(out, open(RESULTS, 'w'), indent=1)
    print(line)


if __name__ == '__main__':
    main()

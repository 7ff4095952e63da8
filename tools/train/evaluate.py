#!/usr/bin/env python3
"""Evaluation of the trained model with and without explicit memory (PyTorch, the same policy the
engine runs; tools/train/memory.py): validation perplexity; knowledge-set perplexity and
exact-match accuracy on templated questions whose answers are only in the knowledge bank (held-out
chemical elements: symbol and atomic number), for no memory, RAG (retrieved references' text
before the context), explicit memory (the model's policy) and explicit memory with 16 tokens per
head. The bank is the knowledge set cut into references; retrieval and dedup as in stage 2.
Writes bench/results/eval.json; the last line printed is the summary.
Usage: evaluate.py [CKPT] [--docs 48] [--smoke]"""
import argparse, json, math, os, random, re

import torch
import torch.nn.functional as F

from data import BOS, CACHE, CORPUS, EOS, read_docs, tokenizer, windows, stream
from export import ROOT, load
from memory import Retriever, cut, memory_batch, prefix_ids

RESULTS = os.path.join(ROOT, 'bench', 'results', 'eval.json')


def knowledge():
    return [json.loads(l) for l in open(os.path.join(CORPUS, 'knowledge.jsonl'))]


class Bank:
    def __init__(self, bpe, docs, length):
        refs = []
        for i, d in enumerate(docs):
            refs += [(i, r, bpe.decode(r)) for r in cut(bpe.encode(d['text']), length)]
        self.retriever = Retriever(refs)

    def get(self, q_ids, q_text, n, dedup=2 / 3, exclude=None):
        return [self.retriever.refs[i][1] for i in self.retriever.retrieve(q_ids, q_text, n, exclude_doc=exclude, dedup=dedup)]


@torch.no_grad()
def nll_none(model, ids):
    lo = model(torch.tensor([ids[:-1]]))[0]
    return F.cross_entropy(lo, torch.tensor(ids[1:]), reduction='sum').item(), len(ids) - 1


@torch.no_grad()
def nll_memory(model, bpe, bank, ids, pre, dedup, exclude=None, encode=None):
    """`encode`: memory_batch's (PyTorch's encoding by default; evaluate_bank.py passes stored records)."""
    cfg, n = model.cfg, model.cfg.retrieval_interval
    ctx = ids[:-1]
    refs = [bank.get(ctx[c:c + n], bpe.decode(ctx[c:c + n]), cfg.memories_per_retrieval, dedup, exclude) for c in range(0, len(ctx), n)]
    seq, pos, mem, _ = memory_batch(model, pre, [ctx], [refs], encode=encode)
    lo = model(seq, pos, mem)[0, len(pre):]
    return F.cross_entropy(lo, torch.tensor(ids[1:]), reduction='sum').item(), len(ids) - 1


@torch.no_grad()
def nll_rag(model, bpe, bank, ids, dedup, n_refs, interval, exclude=None):
    """Each interval-token chunk is scored with its own retrieved references' text in front
    (bank.get → reference id lists; `exclude`: a document whose references are never used)."""
    total, count = 0.0, 0
    ctx = ids[:-1]
    for c in range(0, len(ctx), interval):
        refs = bank.get(ctx[c:c + interval], bpe.decode(ctx[c:c + interval]), n_refs, dedup, exclude)
        front = [t for r in refs for t in [BOS] + r + [EOS]]
        end = min(c + interval, len(ctx))
        lo = model(torch.tensor([front + ctx[:end]]))[0, len(front) + c:]
        total += F.cross_entropy(lo, torch.tensor(ids[c + 1:end + 1]), reduction='sum').item()
        count += end - c
    return total, count


@torch.no_grad()
def greedy(model, bpe, bank, mode, q_ids, n_new, pre, encode=None):
    cfg = model.cfg
    # No near-copy rule for questions: the engine's overlapRatio divides by the shorter sequence, so
    # a short question contained in its answer's reference would count as a near-copy of it.
    refs = bank.get(q_ids, bpe.decode(q_ids), cfg.memories_per_retrieval, dedup=None) if mode != 'none' else []
    out = []
    for _ in range(n_new):
        ctx = q_ids + out
        if mode == 'none':
            lo = model(torch.tensor([ctx]))[0, -1]
        elif mode == 'rag':
            front = [t for r in refs for t in [BOS] + r + [EOS]]
            lo = model(torch.tensor([front + ctx]))[0, -1]
        else:   # one prompt chunk; the first decoded chunk reuses its memories (the engine's rule)
            seq, pos, mem, _ = memory_batch(model, pre, [ctx], [[refs] * ((len(ctx) + cfg.retrieval_interval - 1) // cfg.retrieval_interval)], encode=encode)
            lo = model(seq, pos, mem)[0, -1]
        out.append(int(lo.argmax()))
    return out


def curves():
    """Loss at checkpoints from the training logs (stage 1: validation loss every 100 steps;
    stage 2: mean training loss with memory per 25 steps)."""
    out = {}
    p1, p2 = os.path.join(CACHE, 'stage1', 'log.jsonl'), os.path.join(CACHE, 'stage2', 'log.jsonl')
    if os.path.exists(p1):
        out['stage1_val_loss'] = [{'step': r['step'], 'tokens': r['tokens'], 'min': r['min'], 'val': r['val']}
                                  for r in map(json.loads, open(p1)) if 'val' in r]
    if os.path.exists(p2):
        rows = [json.loads(l) for l in open(p2)]
        out['stage2_train_loss'] = [{'step': rows[min(i + 24, len(rows) - 1)]['step'],
                                     'loss': round(sum(r['loss'] for r in rows[i:i + 25]) / len(rows[i:i + 25]), 4)}
                                    for i in range(0, len(rows), 25)]
    return out


def questions(kdocs):
    qs = []
    for d in kdocs:
        m = re.match(r'(\S+) Symbol: (\S+) Atomic number: (\d+)', d['text'])
        if d['source'] == 'elements' and m:
            name, sym, z = m.groups()
            qs.append((f'{name} Symbol:', f' {sym}'))
            qs.append((f'{name} Symbol: {sym} Atomic number:', f' {z}'))
    return qs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ckpt', nargs='?', default=os.path.join(CACHE, 'stage2', 'ckpt.pt'))
    ap.add_argument('--docs', type=int, default=48)
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--out', default=RESULTS)
    ap.add_argument('--compare', help='an earlier eval JSON (e.g. the stage-1 model) to embed for comparison')
    a = ap.parse_args()
    torch.set_num_threads(1)
    model, ck = load(a.ckpt)
    cfg, bpe = model.cfg, tokenizer()
    pre = prefix_ids(bpe)
    kdocs = knowledge()
    bank = Bank(bpe, kdocs, cfg.reference_length)
    rng = random.Random(0)
    sample = [d for d in kdocs if d['source'] == 'elements'][:a.docs // 3] + rng.sample([d for d in kdocs if d['source'] != 'elements'], a.docs - a.docs // 3)
    if a.smoke:
        sample = sample[:3]
    texts = [[BOS] + bpe.encode(d['text'])[:cfg.retrieval_interval * 2] for d in sample]
    val = windows(stream('valid.txt', 600_000), 128)[:8 if a.smoke else 32]
    res = {'checkpoint': os.path.relpath(a.ckpt, ROOT), 'stage1_steps': ck.get('stage1_step', ck['step']),
           'stage2_steps': ck['step'] if 'stage1_step' in ck else 0,
           'policy': {'memory_layers': cfg.memory_layers, 'tokens_per_head': cfg.tokens_per_head,
                      'reference_length': cfg.reference_length, 'memories_per_retrieval': cfg.memories_per_retrieval,
                      'retrieval_interval': cfg.retrieval_interval, 'dedup_threshold': 2 / 3},
           'bank_references': len(bank.retriever.refs), 'knowledge_docs_scored': len(texts)}
    with torch.no_grad():
        res['validation_ppl'] = math.exp(sum(F.cross_entropy(model(w[None, :-1])[0], w[1:]).item() for w in val) / len(val))
    ppl = {}
    modes = {
        'none': lambda ids: nll_none(model, ids),
        'rag': lambda ids: nll_rag(model, bpe, bank, ids, 2 / 3, cfg.memories_per_retrieval, cfg.retrieval_interval),
        'memory': lambda ids: nll_memory(model, bpe, bank, ids, pre, 2 / 3),
        # The text's own reference allowed (no near-copy rule): how well each mode reads what the bank holds.
        'rag_nodedup': lambda ids: nll_rag(model, bpe, bank, ids, None, cfg.memories_per_retrieval, cfg.retrieval_interval),
        'memory_nodedup': lambda ids: nll_memory(model, bpe, bank, ids, pre, None),
    }
    for name, f in modes.items():
        s = [f(ids) for ids in texts]
        ppl[name] = math.exp(sum(x for x, _ in s) / sum(n for _, n in s))
    k0 = cfg.tokens_per_head
    cfg.tokens_per_head = 16
    s = [nll_memory(model, bpe, bank, ids, pre, 2 / 3) for ids in texts]
    ppl['memory_k16'] = math.exp(sum(x for x, _ in s) / sum(n for _, n in s))
    cfg.tokens_per_head = k0
    res['knowledge_ppl'] = ppl
    qs = questions(kdocs)[:6 if a.smoke else None]
    qa, examples = {}, []
    for mode in ['none', 'rag', 'memory', 'memory_k16']:
        cfg.tokens_per_head = 16 if mode == 'memory_k16' else k0
        right = 0
        for i, (q, ans) in enumerate(qs):
            want = bpe.encode(ans)
            got = greedy(model, bpe, bank, 'memory' if mode.startswith('memory') else mode, [BOS] + bpe.encode(q), len(want), pre)
            right += got == want
            if i < 4:
                examples.append({'mode': mode, 'question': q, 'answer': ans, 'generated': bpe.decode(got)})
        qa[mode] = 100.0 * right / len(qs)
    cfg.tokens_per_head = k0
    res['qa_exact_match_pct'] = qa
    res['qa_questions'] = len(qs)
    res['qa_examples'] = examples
    line = (f"eval: knowledge ppl none {ppl['none']:.2f} rag {ppl['rag']:.2f} memory {ppl['memory']:.2f}; "
            f"qa none {qa['none']:.1f}% rag {qa['rag']:.1f}% memory {qa['memory']:.1f}%")
    if a.compare and os.path.exists(a.compare):
        prev = json.load(open(a.compare))
        res['compare'] = {k: prev[k] for k in ['checkpoint', 'stage1_steps', 'stage2_steps', 'validation_ppl',
                                               'knowledge_ppl', 'qa_exact_match_pct', 'summary']}
    res['training'] = curves()
    res['summary'] = line
    if not a.smoke:
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        json.dump(res, open(a.out, 'w'), indent=1)
    print(json.dumps(res, indent=1))
    print(line)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Stage 2: continued training with explicit memory, as the engine runs it (parallel positions,
prefix `<s>Reference:` before the context, every retrieval_interval-token chunk attends to the
memories of the references retrieved for its own text, top tokens_per_head tokens per kv head of
each reference in the memory layers, one joint softmax). References are encoded by the model being
trained (no gradient through the encoding) at every step; a chunk never retrieves a reference of a
document it overlaps, nor a near-copy of itself (overlap > 2/3, the engine's dedup rule).

Training text: documents of train.txt whose headword (first word) has at least two entries (the same
word in two dictionaries gives a chunk a reference that helps), plus every training element entry
and the entries headed by those elements' names, shuffled so related entries are not adjacent.
Usage: train_memory.py [--init CKPT] [--minutes 20] [--smoke]"""
import argparse, json, os, random, time
from collections import defaultdict

import torch
import torch.nn.functional as F

from data import BOS, CACHE, EOS, read_docs, tokenizer
from memory import Retriever, cut, memory_batch, prefix_ids
from model import Config, Llama
from train import lr_at


def head(doc):
    return doc.split(' ', 1)[0].lower().strip(',.;:')


def select_docs(max_chars, seed=0):
    docs = read_docs('train.txt')
    groups = defaultdict(list)
    for d in docs:
        groups[head(d)].append(d)
    elements = {head(d) for d in docs if ' Symbol: ' in d[:60] and 'Atomic number:' in d}
    keys = sorted(k for k, v in groups.items() if len(v) >= 2 and k not in elements)
    random.Random(seed).shuffle(keys)
    chosen, used = [d for k in sorted(elements) for d in groups[k]], 0
    used = sum(map(len, chosen))
    for k in keys:
        if used >= max_chars:
            break
        chosen += groups[k]
        used += sum(map(len, groups[k]))
    random.Random(seed + 1).shuffle(chosen)
    return chosen, len(elements)


def build(max_chars, length):
    path = os.path.join(CACHE, f'stage2.{max_chars}.{length}.pt')
    if os.path.exists(path):
        return torch.load(path)
    docs, n_el = select_docs(max_chars)
    bpe = tokenizer()
    stream, doc_of, refs = [], [], []
    for i, d in enumerate(docs):
        ids = bpe.encode(d)
        stream += [BOS] + ids + [EOS]
        doc_of += [i] * (len(ids) + 2)
        refs += [(i, r, bpe.decode(r)) for r in cut(ids, length)]
    data = {'stream': torch.tensor(stream, dtype=torch.int16), 'doc_of': torch.tensor(doc_of), 'refs': refs,
            'docs': len(docs), 'elements': n_el}
    torch.save(data, path)
    return data


def retrieve_batch(model, retriever, bpe, data, starts, T):
    cfg, n = model.cfg, model.cfg.retrieval_interval
    contexts, refs = [], []
    for s in starts:
        ctx = data['stream'][s:s + T + 1].long().tolist()
        contexts.append(ctx)
        per = []
        for c in range(0, T, n):
            chunk = ctx[c:c + n]
            own = set(data['doc_of'][s + c:s + c + n].tolist())
            hits = retriever.retrieve(chunk, bpe.decode(chunk), cfg.memories_per_retrieval, exclude_doc=own)
            per.append([retriever.refs[i][1] for i in hits])
        refs.append(per)
    return contexts, refs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--init', default=os.path.join(CACHE, 'stage1', 'ckpt.pt'))
    ap.add_argument('--minutes', type=float, default=20)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1.5e-3)
    ap.add_argument('--chars', type=int, default=3_000_000)
    ap.add_argument('--out', default=os.path.join(CACHE, 'stage2'))
    ap.add_argument('--smoke', action='store_true')
    a = ap.parse_args()
    if a.smoke:
        a.minutes, a.chars, a.batch, a.out = 0.3, 100_000, 4, os.path.join(CACHE, 'smoke2')
        a.init = os.path.join(CACHE, 'smoke1', 'ckpt.pt')
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ck = torch.load(a.init)
    model = Llama(Config(**ck['cfg']))
    model.load_state_dict(ck['model'])
    cfg, bpe = model.cfg, tokenizer()
    data = build(a.chars, cfg.reference_length)
    retriever = Retriever(data['refs'])
    pre = prefix_ids(bpe)
    os.makedirs(a.out, exist_ok=True)
    print(f"stage 2: {data['docs']} docs ({data['elements']} element names), {len(data['stream'])} tokens, "
          f"{len(data['refs'])} references", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    g = random.Random(0)
    log = open(os.path.join(a.out, 'log.jsonl'), 'w')
    t0, step, P, budget = time.time(), 0, len(pre), a.minutes * 60
    hi = len(data['stream']) - a.seq - 2
    while (time.time() - t0) < budget:
        for grp in opt.param_groups:
            grp['lr'] = lr_at((time.time() - t0) / budget, a.lr, 0.05)
        starts = [g.randrange(hi) for _ in range(a.batch)]
        contexts, refs = retrieve_batch(model, retriever, bpe, data, starts, a.seq)
        inputs = [c[:-1] for c in contexts]
        targets = torch.tensor([c[1:] for c in contexts])
        ids, pos, mem, _ = memory_batch(model, pre, inputs, refs)
        logits = model(ids, pos, mem)[:, P:]
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        rec = {'step': step, 'min': round((time.time() - t0) / 60, 2), 'loss': round(loss.item(), 4),
               'refs': sum(len(r) for per in refs for r in per) / (len(refs) * len(refs[0]))}
        if step % 25 == 0 or a.smoke:
            torch.save({'cfg': cfg.to_dict(), 'model': model.state_dict(), 'step': step, 'stage1_step': ck['step']},
                       os.path.join(a.out, 'ckpt.pt'))
        log.write(json.dumps(rec) + '\n')
        log.flush()
    torch.save({'cfg': cfg.to_dict(), 'model': model.state_dict(), 'step': step, 'stage1_step': ck['step']},
               os.path.join(a.out, 'ckpt.pt'))
    print('done', step, flush=True)


if __name__ == '__main__':
    main()

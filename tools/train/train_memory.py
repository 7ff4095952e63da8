#!/usr/bin/env python3
"""Stage 2: continued training with explicit memory, exactly as the engine runs it: the prefix
`<s>Reference:` before the context, parallel positions (context from prefix + reference_length),
every retrieval_interval-token chunk attending to the memories of the references retrieved for its
own text by the engine's retriever (bm25.py), top tokens_per_head tokens per (memory layer, kv head)
of each reference selected as the engine's writer selects them (model.encode_memories, on the model
being trained, no gradient through the encoding), unused slots of short references masked, one
joint softmax over memory and context.

Each step has two parts:
- questions: chat questions about documents of a bank of training items (generated entities,
  synthetic and training elements); the prompt chunk retrieves up to memories_per_retrieval
  references from that bank (the answer's document among look-alikes); loss on the reply only.
  A curriculum: the first `--gold-share` of the budget splices only the answer's own references,
  then the engine's retrieval, mostly with the relative-score cut (`--cut`, `--cut-share`), else without.
- text: 128-token windows of dictionary entries (headwords with several entries, so a chunk's
  retrieval finds related ones) with memories retrieved from the other documents; loss on every token.
- questions in context (`--icl-batch`): as in stage 1, so reading the prompt (RAG) is kept.
Usage: train_memory.py [--init CKPT] [--minutes 60] [--memory-layers 0,1,2,3] [--tokens-per-head 16] [--smoke]"""
import argparse, json, os, random, time
from collections import defaultdict

import blas  # noqa: F401  (first: sets the BLAS thread count before torch loads it)
import torch
import torch.nn.functional as F

from data import BOS, CACHE, EOS, read_docs, tokenizer
from memory import memory_batch, prefix_ids
from model import Config, Llama
from tasks import Bank, Items, chat_prompt, context_qa_batch, heldout, qa_query, reply_ids
from train import lr_at


def head(doc):
    return doc.split(' ', 1)[0].lower().strip(',.;:')


def select_docs(max_chars, seed=0):
    """Dictionary documents whose headword has at least two entries, up to max_chars, shuffled."""
    docs = [d for d in read_docs('train.txt') if ' Symbol: ' not in d[:40]]
    groups = defaultdict(list)
    for d in docs:
        groups[head(d)].append(d)
    keys = sorted(k for k, v in groups.items() if len(v) >= 2)
    random.Random(seed).shuffle(keys)
    chosen, used = [], 0
    for k in keys:
        if used >= max_chars:
            break
        chosen += groups[k]
        used += sum(map(len, groups[k]))
    random.Random(seed + 1).shuffle(chosen)
    return chosen


def text_data(bpe, max_chars, length):
    path = os.path.join(CACHE, f'stage2.text.{max_chars}.{length}.pt')
    if os.path.exists(path):
        return torch.load(path)
    docs = select_docs(max_chars)
    stream, doc_of = [], []
    for i, d in enumerate(docs):
        ids = bpe.encode(d)
        stream += [BOS] + ids + [EOS]
        doc_of += [i] * (len(ids) + 2)
    data = {'docs': docs, 'stream': torch.tensor(stream, dtype=torch.int16), 'doc_of': torch.tensor(doc_of)}
    torch.save(data, path)
    return data


def qa_items(n, seed):
    items = Items(seed)
    out = []
    for _ in range(n):
        text, ent = items.item()
        out.append((text, ent))
    return out, items


def qa_batch(model, bpe, bank, items, gen, rng, batch, gold_only, cut, cut_share):
    """Contexts (prompt + reply, padded with </s>), loss masks and per-sample references."""
    cfg = model.cfg
    ctxs, masks, refs, gold = [], [], [], 0
    for _ in range(batch):
        d = rng.randrange(len(items))
        text, ent = items[d]
        q, a, _ = gen.question(ent)
        prompt = chat_prompt(bpe, q)
        reply = reply_ids(bpe, a)
        hits = bank.retrieve(qa_query(bpe, prompt), cfg.memories_per_retrieval, cut if rng.random() < cut_share else None)
        if gold_only:
            hits = [i for i in hits if bank.refs[i][0] == d] or list(bank.of_doc[d])[:cfg.memories_per_retrieval]
        gold += any(bank.refs[i][0] == d for i in hits)
        ctxs.append(prompt + reply)
        masks.append([0] * (len(prompt) - 1) + [1] * len(reply))
        refs.append([[bank.refs[i][1] for i in hits]])
    T = max(map(len, ctxs))
    inputs = [c[:-1] + [EOS] * (T - len(c)) for c in ctxs]
    targets = torch.tensor([c[1:] + [EOS] * (T - len(c)) for c in ctxs])
    mask = torch.tensor([m + [0] * (T - 1 - len(m)) for m in masks], dtype=torch.float)
    return inputs, targets, mask, refs, gold / batch


def text_batch(model, bpe, bank, data, rng, batch, T):
    cfg, n = model.cfg, model.cfg.retrieval_interval
    hi = len(data['stream']) - T - 2
    contexts, refs = [], []
    for _ in range(batch):
        s = rng.randrange(hi)
        ctx = data['stream'][s:s + T + 1].long().tolist()
        per = []
        for c in range(0, T, n):
            own = set(data['doc_of'][s + c:s + c + n].tolist())
            chunk = [t for t in ctx[c:c + n] if t not in (BOS, EOS)]
            per.append([bank.refs[i][1] for i in bank.retrieve(bpe.decode(chunk), cfg.memories_per_retrieval, None, own)])
        contexts.append(ctx)
        refs.append(per)
    return [c[:-1] for c in contexts], torch.tensor([c[1:] for c in contexts]), refs


def quick_eval(model, bpe, pre, n=120, cut=None):
    """Exact match with memory on the first n held-out questions (held-out bank, engine retrieval)."""
    from qa import ask, exact_match
    items = heldout()
    bank = Bank(bpe, [it['text'] for it in items], model.cfg.reference_length)
    qs = [q for it in items for q in it['questions']][:n]
    model.eval()
    right = sum(exact_match(ask(model, bpe, bank, q['question'], 'memory', pre, cut=cut)[0], q['answer']) for q in qs)
    model.train()
    return 100.0 * right / max(1, len(qs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--init', default=os.path.join(CACHE, 'stage1', 'ckpt.pt'))
    ap.add_argument('--minutes', type=float, default=60)
    ap.add_argument('--steps', type=int, default=None, help='a fixed number of steps instead of a time budget (reproducible anywhere)')
    ap.add_argument('--qa-batch', type=int, default=32)
    ap.add_argument('--text-batch', type=int, default=4)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--chars', type=int, default=3_000_000, help='dictionary text for the text part')
    ap.add_argument('--bank-items', type=int, default=30_000, help='training items in the question bank')
    ap.add_argument('--memory-layers', default=None, help='e.g. 1,2 (default: the checkpoint config)')
    ap.add_argument('--tokens-per-head', type=int, default=None)
    ap.add_argument('--cut', type=float, default=0.5,
                    help="the policy's minRelativeScore: used for half the training retrievals, the evaluation and the exported config")
    ap.add_argument('--cut-share', type=float, default=0.7, help='share of question retrievals with the cut (the rest: all memoriesPerRetrieval)')
    ap.add_argument('--gold-share', type=float, default=0.3, help='share of the budget that splices only the answer\'s own references')
    ap.add_argument('--eval-every', type=int, default=200)
    ap.add_argument('--text-weight', type=float, default=0.3, help='weight of the text loss beside the question loss')
    ap.add_argument('--icl-batch', type=int, default=8,
                    help='questions answered from documents in the prompt (no memory), per step: keeps reading in context, the RAG baseline')
    ap.add_argument('--out', default=os.path.join(CACHE, 'stage2'))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--smoke', action='store_true')
    a = ap.parse_args()
    if a.smoke:
        a.steps, a.chars, a.qa_batch, a.text_batch, a.bank_items, a.out = 15, 100_000, 4, 2, 300, os.path.join(CACHE, 'smoke2')
        a.init, a.eval_every = os.path.join(CACHE, 'smoke1', 'ckpt.pt'), 0
    blas.single_thread()
    torch.manual_seed(a.seed)
    ck = torch.load(a.init)
    cfgd = dict(ck['cfg'])
    if a.memory_layers:
        cfgd['memory_layers'] = [int(x) for x in a.memory_layers.split(',')]
    if a.tokens_per_head:
        cfgd['tokens_per_head'] = a.tokens_per_head
    cfgd['min_relative_score'] = a.cut   # the model's memory policy: exported into config.json's memory3 block
    model = Llama(Config(**cfgd))
    model.load_state_dict(ck['model'])
    cfg, bpe = model.cfg, tokenizer()
    text = text_data(bpe, a.chars, cfg.reference_length)
    t_bank = time.time()
    text_bank = Bank(bpe, text['docs'], cfg.reference_length)
    items, gen = qa_items(a.bank_items, 1000 + a.seed)
    bank = Bank(bpe, [t for t, _ in items], cfg.reference_length)
    pre = prefix_ids(bpe)
    os.makedirs(a.out, exist_ok=True)
    print(f"stage 2: memory layers {cfg.memory_layers}, {cfg.tokens_per_head} tokens/head; text {len(text['docs'])} docs "
          f"({len(text_bank.refs)} refs), question bank {len(items)} items ({len(bank.refs)} refs), "
          f"banks built in {time.time() - t_bank:.0f} s", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    rng = random.Random(a.seed)
    log = open(os.path.join(a.out, 'log.jsonl'), 'w')
    t0, step, P, budget, tokens = time.time(), 0, len(pre), a.minutes * 60, 0

    def save():
        torch.save({'cfg': cfg.to_dict(), 'model': model.state_dict(), 'step': step, 'stage1_step': ck['step'],
                    'stage2_tokens': tokens, 'stage2_minutes': round((time.time() - t0) / 60, 2)},
                   os.path.join(a.out, 'ckpt.pt'))
    while True:
        frac = step / a.steps if a.steps else (time.time() - t0) / budget
        if frac >= 1:
            break
        for grp in opt.param_groups:
            grp['lr'] = lr_at(frac, a.lr, 0.05)
        inputs, targets, mask, refs, gold = qa_batch(model, bpe, bank, items, gen, rng, a.qa_batch, frac < a.gold_share, a.cut, a.cut_share)
        ids, pos, mem, _ = memory_batch(model, pre, inputs, refs)
        logits = model(ids, pos, mem)[:, P:]
        ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction='none')
        qa_loss = (ce * mask.flatten()).sum() / mask.sum()
        loss = qa_loss
        text_loss = torch.tensor(0.0)
        if a.text_batch:
            tin, tgt, trefs = text_batch(model, bpe, text_bank, text, rng, a.text_batch, a.seq)
            ids, pos, mem, _ = memory_batch(model, pre, tin, trefs)
            text_loss = F.cross_entropy(model(ids, pos, mem)[:, P:].flatten(0, 1), tgt.flatten())
            loss = loss + a.text_weight * text_loss
        if a.icl_batch:
            qi, qt, qm = context_qa_batch(bpe, gen, rng, a.icl_batch, 3)
            ce = F.cross_entropy(model(torch.tensor(qi)).flatten(0, 1), qt.flatten(), reduction='none')
            loss = loss + (ce * qm.flatten()).sum() / qm.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += targets.numel() + a.text_batch * a.seq
        rec = {'step': step, 'min': round((time.time() - t0) / 60, 2), 'tokens': tokens, 'qa_loss': round(qa_loss.item(), 4),
               'text_loss': round(text_loss.item(), 4), 'gold_retrieved': gold}
        if a.eval_every and step % a.eval_every == 0:
            rec['heldout_em'] = quick_eval(model, bpe, pre, cut=a.cut)
            print(json.dumps(rec), flush=True)
        if step % 50 == 0 or a.smoke:
            save()
        log.write(json.dumps(rec) + '\n')
        log.flush()
    save()
    print('done', step, 'steps', tokens, 'tokens', flush=True)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Stage 1: ordinary language modelling (time-budgeted cosine schedule, checkpoints, loss log) on
tasks.stage1_stream: dictionary entries, generated entity documents, and chat questions answered
from documents in the prompt. After `--qa-from` of the budget, every step also trains on a batch of
chat questions answered from documents in the prompt with the loss on the reply only (reading in
context: measured here, a model only starts reading once copying has formed in plain text, and
reading memory in stage 2 builds on reading context). Stage 2 lives in train_memory.py. CPU: one
thread per process (see blas.py: OpenBLAS), run under nice.
Usage: train.py [--minutes 35] [--tokens N] [--smoke] [shape flags]"""
import argparse, json, math, os, time

import blas  # noqa: F401  (first: sets the BLAS thread count before torch loads it)
import torch
import torch.nn.functional as F

from data import CACHE, read_docs, stream, tokenizer, windows
from model import Config, Llama
import random

from tasks import Items, context_qa_batch, stage1_stream

SMALL = dict(hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, head_dim=32, memory_layers=[0, 1, 2, 3], reference_length=64, tokens_per_head=64)


def evaluate(model, val, batch=16):
    model.eval()
    with torch.no_grad():
        losses = [F.cross_entropy(model(v[:, :-1]).flatten(0, 1), v[:, 1:].flatten()).item()
                  for v in val.split(batch)]
    model.train()
    return sum(losses) / len(losses)


def lr_at(frac, peak, warm):
    if frac < warm:
        return peak * frac / warm
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - warm) / (1 - warm)))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--minutes', type=float, default=35)
    ap.add_argument('--steps', type=int, default=None, help='a fixed number of steps instead of a time budget (reproducible anywhere)')
    ap.add_argument('--seq', type=int, default=256)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--tokens', type=int, default=8_000_000, help='length of the training stream')
    ap.add_argument('--hidden', type=int, default=SMALL['hidden_size'])
    ap.add_argument('--layers', type=int, default=SMALL['num_hidden_layers'])
    ap.add_argument('--heads', type=int, default=SMALL['num_attention_heads'])
    ap.add_argument('--kv-heads', type=int, default=SMALL['num_key_value_heads'])
    ap.add_argument('--mlp', type=int, default=SMALL['intermediate_size'])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--qa-batch', type=int, default=32, help='chat questions answered from documents in the prompt, per step (loss on the reply)')
    ap.add_argument('--qa-from', type=float, default=0.5,
                    help='share of the budget trained on text alone first: copying (induction) forms there, and reading builds on it')
    ap.add_argument('--qa-docs', type=int, default=3, help='documents in a question prompt: 1 in the first half of the question phase, then up to this')
    ap.add_argument('--out', default=os.path.join(CACHE, 'stage1'))
    ap.add_argument('--smoke', action='store_true', help='a few steps on a tiny slice (< 1 minute)')
    a = ap.parse_args()
    if a.smoke:
        a.steps, a.tokens, a.out = 40, 60_000, os.path.join(CACHE, 'smoke1')
    blas.single_thread()
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(CACHE, f'stage1.{a.tokens}.{a.seed}.pt')
    if os.path.exists(path):
        data = torch.load(path)
    else:
        dictionary = read_docs('train.txt')[:20_000] if a.smoke else None
        data = stage1_stream(tokenizer(), a.tokens, a.seed, dictionary)
        torch.save(data, path)
    train = windows(data, a.seq)
    val = windows(stream('valid.txt', 200_000 if a.smoke else 600_000), 128)[:64]
    cfg = Config(**dict(SMALL, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                        num_key_value_heads=a.kv_heads, intermediate_size=a.mlp, head_dim=a.hidden // a.heads))
    model = Llama(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    log = open(os.path.join(a.out, 'log.jsonl'), 'w')
    print(f'params {sum(p.numel() for p in model.parameters())}, train windows {len(train)}', flush=True)
    g = torch.Generator().manual_seed(a.seed)
    bpe, items, rng = tokenizer(), Items(100 + a.seed), random.Random(a.seed)
    t0, step, budget = time.time(), 0, a.minutes * 60
    while True:
        frac = step / a.steps if a.steps else (time.time() - t0) / budget
        if frac >= 1:
            break
        for grp in opt.param_groups:
            grp['lr'] = lr_at(frac, a.lr, 0.05)
        x = train[torch.randint(len(train), (a.batch,), generator=g)]
        loss = lm = F.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
        qa = torch.tensor(0.0)
        if a.qa_batch and frac >= a.qa_from:
            docs = 1 if frac < (1 + a.qa_from) / 2 else a.qa_docs
            qi, qt, qm = context_qa_batch(bpe, items, rng, a.qa_batch, docs)
            ce = F.cross_entropy(model(torch.tensor(qi)).flatten(0, 1), qt.flatten(), reduction='none')
            qa = (ce * qm.flatten()).sum() / qm.sum()
            loss = lm + qa
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        rec = {'step': step, 'tokens': step * a.batch * a.seq, 'min': round((time.time() - t0) / 60, 2), 'loss': round(lm.item(), 4),
               'qa_loss': round(qa.item(), 4)}
        if step % 100 == 0 or (a.smoke and step % 5 == 0):
            rec['val'] = round(evaluate(model, val), 4)
            torch.save({'cfg': cfg.to_dict(), 'model': model.state_dict(), 'step': step}, os.path.join(a.out, 'ckpt.pt'))
        log.write(json.dumps(rec) + '\n')
        log.flush()
    rec = {'step': step, 'tokens': step * a.batch * a.seq, 'min': round((time.time() - t0) / 60, 2), 'val': round(evaluate(model, val), 4)}
    log.write(json.dumps(rec) + '\n')
    torch.save({'cfg': cfg.to_dict(), 'model': model.state_dict(), 'step': step}, os.path.join(a.out, 'ckpt.pt'))
    print('done', rec, flush=True)


if __name__ == '__main__':
    main()

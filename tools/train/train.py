#!/usr/bin/env python3
"""Stage 1: ordinary language modelling on the training text (time-budgeted cosine schedule,
checkpoints, loss log). Stage 2 lives in train_memory.py. CPU: set_num_threads(1), run under nice.
Usage: train.py [--minutes 35] [--smoke]"""
import argparse, json, math, os, time

import torch
import torch.nn.functional as F

from data import CACHE, stream, windows
from model import Config, Llama

SMALL = dict(hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, head_dim=32, memory_layers=[0, 1], reference_length=64)


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
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--chars', type=int, default=12_000_000)
    ap.add_argument('--out', default=os.path.join(CACHE, 'stage1'))
    ap.add_argument('--smoke', action='store_true', help='a few steps on a tiny slice (< 1 minute)')
    a = ap.parse_args()
    if a.smoke:
        a.minutes, a.chars, a.out = 0.3, 200_000, os.path.join(CACHE, 'smoke1')
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    train = windows(stream('train.txt', a.chars), a.seq)
    val = windows(stream('valid.txt', 200_000 if a.smoke else 600_000), a.seq)[:64]
    cfg = Config(**SMALL)
    model = Llama(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    log = open(os.path.join(a.out, 'log.jsonl'), 'w')
    print(f'params {sum(p.numel() for p in model.parameters())}, train windows {len(train)}', flush=True)
    g = torch.Generator().manual_seed(0)
    t0, step, budget = time.time(), 0, a.minutes * 60
    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1:
            break
        for grp in opt.param_groups:
            grp['lr'] = lr_at(frac, a.lr, 0.05)
        x = train[torch.randint(len(train), (a.batch,), generator=g)]
        loss = F.cross_entropy(model(x[:, :-1]).flatten(0, 1), x[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        rec = {'step': step, 'tokens': step * a.batch * a.seq, 'min': round((time.time() - t0) / 60, 2), 'loss': round(loss.item(), 4)}
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

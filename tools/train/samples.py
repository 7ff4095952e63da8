#!/usr/bin/env python3
"""Sample generations of a checkpoint (greedy), without memory and with knowledge-bank memories
retrieved for the prompt (as evaluate.py). Usage: samples.py [CKPT]"""
import os, sys

import torch

from data import BOS, CACHE, tokenizer
from evaluate import Bank, greedy, knowledge
from export import load
from memory import prefix_ids

PROMPTS = ['zinc Symbol:', 'computer n.', 'A compiler is', 'The Devil n.', 'iodine Symbol: I Atomic number:']


def main():
    torch.set_num_threads(1)
    model, _ = load(sys.argv[1] if len(sys.argv) > 1 else os.path.join(CACHE, 'stage2', 'ckpt.pt'))
    bpe = tokenizer()
    bank = Bank(bpe, knowledge(), model.cfg.reference_length)
    for p in PROMPTS:
        for mode in ['none', 'memory']:
            out = greedy(model, bpe, bank, mode, [BOS] + bpe.encode(p), 24, prefix_ids(bpe))
            print(f'[{mode}] {p}{bpe.decode(out)!r}')


if __name__ == '__main__':
    main()

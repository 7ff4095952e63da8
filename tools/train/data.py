"""Tokenized corpus for training: the corpus text (tools/corpus/.cache) encoded once with the
project's tokenizer into int16 tensors, cached in tools/train/.cache."""
import hashlib, json, os, random, sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, '..', 'corpus', '.cache')
CACHE = os.path.join(HERE, '.cache')
sys.path.insert(0, os.path.join(HERE, '..', 'corpus'))
from train_tokenizer import Bpe  # noqa: E402

BOS, EOS = 0, 1


def tokenizer():
    return Bpe(json.load(open(os.path.join(CORPUS, 'tokenizer', 'tokenizer.json'))))


def read_docs(name):
    return [l.replace('\\n', '\n') for l in open(os.path.join(CORPUS, name)).read().split('\n') if l]


def stream(name, max_chars, seed=0):
    """Documents (shuffled deterministically, up to max_chars) as one stream <s> doc </s> <s> doc </s> ..."""
    path = os.path.join(CACHE, f'{name}.{max_chars}.pt')
    if os.path.exists(path):
        return torch.load(path)
    docs = read_docs(name)
    random.Random(seed).shuffle(docs)
    bpe, ids, used = tokenizer(), [], 0
    for d in docs:
        if used >= max_chars:
            break
        ids += [BOS] + bpe.encode(d) + [EOS]
        used += len(d)
    t = torch.tensor(ids, dtype=torch.int16)
    os.makedirs(CACHE, exist_ok=True)
    torch.save(t, path)
    return t


def windows(t, T):
    """Non-overlapping (T+1)-token windows of a stream: (N, T+1) long."""
    n = (len(t) - 1) // T
    return torch.stack([t[i * T:i * T + T + 1] for i in range(n)]).long()

#!/usr/bin/env python3
"""A byte-level BPE tokenizer (GPT-2 style) trained on the training text, written as HF
tokenizer.json + tokenizer_config.json. Python has no `tokenizers` package here (Debian lacks it),
so the trainer is this file: pre-tokenize with the GPT-2 regex (the corpus is ASCII, so \\p{L} and
\\p{N} reduce to [A-Za-z] and [0-9]), count words, then merge the most frequent pair, updating
only the words that hold it. `encode` applies merges by rank exactly as the HF BPE model does.
Ids: 0 <s>, 1 </s>, 2.. the 256 bytes, then merges. Usage: train_tokenizer.py [--vocab 4096]
"""
import argparse, heapq, json, os, re
from collections import Counter, defaultdict

PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")
SPECIALS = ['<s>', '</s>']
# Contents are trimmed: a reply is generated after "assistant:" and starts with a space, so the
# re-rendered history then equals what the model saw and the engine reuses its KV cache.
CHAT_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{{ message['role'] }}: {{ message['content'] | trim }}\n"
                 "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('\xa1'), ord('\xac') + 1)) + list(range(ord('\xae'), ord('\xff') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHARS = bytes_to_unicode()


def pretokenize(text):
    return PAT.findall(text)


def train(texts, vocab_size):
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    symbols = [BYTE_CHARS[b] for b in range(256)]
    words = [[BYTE_CHARS[b] for b in w.encode()] for w in counts]
    freqs = list(counts.values())
    pairs, where = Counter(), defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freqs[i]
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(SPECIALS) + len(symbols) < vocab_size and heap:
        c, p = heapq.heappop(heap)
        if pairs.get(p, 0) != -c or c == 0:
            continue
        merges.append(p)
        new = p[0] + p[1]
        symbols.append(new)
        changed = Counter()
        for i in list(where[p]):
            w, f = words[i], freqs[i]
            for a, b in zip(w, w[1:]):
                changed[(a, b)] -= f
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == p[0] and w[j + 1] == p[1]:
                    out.append(new); j += 2
                else:
                    out.append(w[j]); j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                changed[(a, b)] += f
                where[(a, b)].add(i)
        for q, d in changed.items():
            if d:
                pairs[q] += d
                heapq.heappush(heap, (-pairs[q], q))
        del pairs[p]
    return symbols, merges


class Bpe:
    """Encoder with the same rules as HF's BPE model (lowest-rank merge first)."""
    def __init__(self, tokenizer_json):
        m = tokenizer_json['model']
        self.vocab = m['vocab']
        self.ranks = {tuple(s.split(' ')): r for r, s in enumerate(m['merges'])}
        self.cache = {}

    def word(self, w):
        if w in self.cache:
            return self.cache[w]
        parts = [BYTE_CHARS[b] for b in w.encode()]
        while len(parts) > 1:
            best = min(range(len(parts) - 1), key=lambda i: self.ranks.get((parts[i], parts[i + 1]), 1 << 30))
            if (parts[best], parts[best + 1]) not in self.ranks:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        ids = [self.vocab[s] for s in parts]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        out = []
        for w in pretokenize(text):
            out.extend(self.word(w))
        return out

    def decode(self, ids):
        inv = getattr(self, 'inv', None) or {v: k for k, v in self.vocab.items()}
        self.inv = inv
        back = {c: b for b, c in BYTE_CHARS.items()}
        return bytes(back[c] for i in ids if inv[i] not in SPECIALS for c in inv[i]).decode('utf-8', 'replace')


def tokenizer_json(symbols, merges):
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for s in symbols:
        vocab[s] = len(vocab)
    added = [{'id': i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True} for i, s in enumerate(SPECIALS)]
    bl = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    return {
        'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
        'pre_tokenizer': bl,
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                           'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                           'special_tokens': {'<s>': {'id': '<s>', 'ids': [0], 'tokens': ['<s>']}}},
        'decoder': bl,
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [f'{a} {b}' for a, b in merges]},
    }


def tokenizer_config():
    return {'bos_token': '<s>', 'eos_token': '</s>', 'add_bos_token': True, 'add_eos_token': False,
            'clean_up_tokenization_spaces': False, 'model_max_length': 256,
            'tokenizer_class': 'PreTrainedTokenizerFast', 'chat_template': CHAT_TEMPLATE}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument('--train', default=os.path.join(here, '.cache', 'train.txt'))
    ap.add_argument('--out', default=os.path.join(here, '.cache', 'tokenizer'))
    ap.add_argument('--vocab', type=int, default=4096)
    ap.add_argument('--chars', type=int, default=6_000_000, help='training text used (every k-th document)')
    a = ap.parse_args()
    lines = open(a.train).read().split('\n')
    total = sum(len(l) for l in lines)
    step = max(1, total // a.chars)
    texts = [l.replace('\\n', '\n') for l in lines[::step]]
    symbols, merges = train(texts, a.vocab)
    os.makedirs(a.out, exist_ok=True)
    json.dump(tokenizer_json(symbols, merges), open(os.path.join(a.out, 'tokenizer.json'), 'w'), ensure_ascii=False)
    json.dump(tokenizer_config(), open(os.path.join(a.out, 'tokenizer_config.json'), 'w'), indent=1)
    print(f'{len(SPECIALS) + len(symbols)} tokens, {len(merges)} merges from {sum(map(len, texts))} chars')


if __name__ == '__main__':
    main()

"""What the model is trained and evaluated on, besides the dictionaries: chat questions about
fictional entities (tools/corpus/entities.py) and element entries, answered from documents in the
context (stage 1, and the RAG baseline) or from explicit memory (stage 2, and the memory mode).

The chat format is the shipped template's (`<s>user: …\\n` … `assistant:`); the reply is " " + the
answer sentence + `</s>`. A RAG prompt puts the retrieved references' text in the user message,
one per line, before the question; the engine bench builds the same message through the public API."""
import json, os, random, sys

import torch

from bm25 import Bm25
from data import BOS, CORPUS, EOS, read_docs, tokenizer
from references import split as split_references

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpus'))
import entities as E  # noqa: E402


def chat_prompt(bpe, question, context_texts=()):
    """ids of `<s>user: [refs\\n…]question\\nassistant:` (the engine's template, add_generation_prompt)."""
    content = '\n'.join([*context_texts, question])
    return [BOS] + bpe.encode(f'user: {content}\nassistant:')


def reply_ids(bpe, answer):
    return bpe.encode(' ' + answer) + [EOS]


def qa_query(bpe, prompt_ids):
    """The retrieval query the engine makes for a one-chunk prompt: its text without special tokens."""
    return bpe.decode([t for t in prompt_ids if t not in (BOS, EOS)])


class Bank:
    """Documents cut into references as the engine cuts them, and the engine's BM25 over them.
    refs[i] = (doc index, ids, text)."""

    def __init__(self, bpe, docs, length):
        self.docs, self.refs, self.of_doc = docs, [], []
        self.bm25 = Bm25()
        for d, text in enumerate(docs):
            first = len(self.refs)
            for t, ids in split_references(bpe, text, length):
                self.bm25.add(len(self.refs), t)
                self.refs.append((d, ids, t))
            self.of_doc.append(range(first, len(self.refs)))

    def retrieve(self, query, n, cut=None, exclude_docs=()):
        """Up to n reference indices for `query`: BM25, then the relative-score cut (None: off)."""
        exclude = {i for d in exclude_docs for i in self.of_doc[d]} if exclude_docs else ()
        hits = self.bm25.search(query, n, exclude)
        if cut is not None and hits:
            hits = [h for h in hits if h[1] >= cut * hits[0][1]]
        return [i for i, _ in hits]


def training_elements():
    """(text, name, facts) of the element entries in the training text (a third of the elements)."""
    out = []
    for t in read_docs('train.txt'):
        if ' Symbol: ' in t[:40]:
            f = E.element_facts(t)
            if f:
                out.append((t, f[0], f[1]))
    return out


class Items:
    """Question items of the training split: (document text, question, answer, relation), drawn
    afresh: generated entities (most), synthetic elements and the training elements' entries."""

    def __init__(self, seed):
        self.g = E.Generator('train', seed)
        self.rng = random.Random(seed)
        self.elements = training_elements()
        self.descriptions = E.element_descriptions([t for t, _, _ in self.elements])

    def entity_item(self):
        e = self.g.entity()
        text, _ = self.g.document(e)
        return text, e

    def element_item(self):
        if self.rng.random() < 0.3:
            text, name, facts = self.rng.choice(self.elements)
        else:
            el = E.synthetic_element(self.rng, self.descriptions)
            text, name, facts = el['text'], el['name'], el['facts']
        return text, {'kind': 'element', 'name': name, 'facts': facts}

    def item(self, element_share=0.1):
        return self.element_item() if self.rng.random() < element_share else self.entity_item()

    def question(self, ent, rel=None):
        rel = rel or self.rng.choice(list(ent['facts']))
        if ent['kind'] == 'element':
            q, a = E.element_question(self.rng, ent['name'], rel, ent['facts'])
        else:
            q, a = self.g.question(ent, rel)
        return q, a, rel


def heldout():
    """The held-out set (tools/corpus/.cache/entities-heldout.jsonl, written by entities.py)."""
    path = os.path.join(CORPUS, 'entities-heldout.jsonl')
    if not os.path.exists(path):
        raise SystemExit(f'{path} is missing: run `python3 entities.py` in tools/corpus first')
    return [json.loads(l) for l in open(path)]


def stage1_stream(bpe, n_tokens, seed=0, dictionary=None):
    """Stage 1's training stream: <s> doc </s> samples of four kinds, shuffled: dictionary entries
    (~45% of samples), entity documents (~20%), and chat questions answered from 1–3 documents in
    the user message (~30%; the RAG format) or asked with no document (~5%). Loss is on every token."""
    rng, items = random.Random(seed), Items(seed)
    docs = dictionary if dictionary is not None else read_docs('train.txt')
    order = list(range(len(docs)))
    rng.shuffle(order)
    out, di = [], 0
    while len(out) < n_tokens:
        u = rng.random()
        if u < 0.45:
            out += [BOS] + bpe.encode(docs[order[di % len(order)]]) + [EOS]
            di += 1
        elif u < 0.65:
            text, _ = items.item()
            out += [BOS] + bpe.encode(text) + [EOS]
        else:
            text, ent = items.item()
            q, a, _ = items.question(ent)
            ctx = []
            if u < 0.95:
                ctx = [text] + [items.item()[0] for _ in range(rng.choice([0, 0, 1, 2]))]
                rng.shuffle(ctx)
            out += chat_prompt(bpe, q, ctx) + reply_ids(bpe, a)
    return torch.tensor(out[:n_tokens], dtype=torch.int16)


def pad_batch(seqs, loss_from):
    """Sequences (prompt + reply) → inputs, targets (padded with </s>) and a mask that is 1 on the
    targets from position loss_from[b] on (the reply), 0 elsewhere."""
    T = max(map(len, seqs))
    inputs = [s[:-1] + [EOS] * (T - len(s)) for s in seqs]
    targets = torch.tensor([s[1:] + [EOS] * (T - len(s)) for s in seqs])
    mask = torch.zeros(len(seqs), T - 1)
    for b, (s, k) in enumerate(zip(seqs, loss_from)):
        mask[b, k - 1:len(s) - 1] = 1
    return inputs, targets, mask


def context_qa_batch(bpe, items, rng, batch, max_docs=3):
    """Chat questions answered from 1..max_docs documents in the user message (the answer's own among
    them, in random order): the RAG format, which teaches the model to read before stage 2 asks it
    to read memories."""
    seqs, starts = [], []
    for _ in range(batch):
        text, ent = items.item()
        q, a, _ = items.question(ent)
        ctx = [text] + [items.item()[0] for _ in range(rng.randrange(max_docs))]
        rng.shuffle(ctx)
        prompt = chat_prompt(bpe, q, ctx)
        seqs.append(prompt + reply_ids(bpe, a))
        starts.append(len(prompt))
    return pad_batch(seqs, starts)

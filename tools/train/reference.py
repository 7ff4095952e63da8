#!/usr/bin/env python3
"""PyTorch reference outputs of the exported model (its f16 weights, f32 compute) for the
engine's cross-implementation tests, written as JSON into test/fixtures/trained/:
  logits.json         prompts (ids) and the last position's logits without memory
  bank-documents.json a few held-out element entries (the engine builds its own bank of them)
  qa.json             held-out chat questions, their documents, PyTorch's greedy replies with
                      memory (a bank of those documents) and without
  memory-logits.json  one prompt chunk with 5 fixed references: the reference prefix ids, the
                      references' ids, the positions the selection kept per (ref, layer, kv head),
                      and the prompt's last logits with those memories spliced (parallel positions)
Usage: reference.py [CKPT]"""
import json, os, sys

import torch

from data import tokenizer
from export import ROOT, load, round_to_f16
from memory import memory_batch, prefix_ids

OUT = os.path.join(ROOT, 'test', 'fixtures', 'trained')
PROMPTS = ['iron Symbol:', 'The dictionary defines a computer as', 'apple n. 1. The fleshy fruit of',
           'A program is a sequence of instructions that']
REFERENCES = [
    'zinc Symbol: Zn Atomic number: 30 Atomic weight: 65.38 Blue-white metallic element.',
    'copper Symbol: Cu Atomic number: 29 Atomic weight: 63.546 Red-brown transition element.',
    'compiler A program that translates a high-level language into machine code.',
    'apple n. The fleshy fruit of a rosaceous tree, usually round and red or yellow.',
    'Bach, Johann Sebastian: German baroque organist and composer (1685-1750).',
]
MEMORY_PROMPT = 'zinc Symbol: Zn Atomic number:'


def rows(x):
    return [round(float(v), 5) for v in x]


@torch.no_grad()
def plain(model, bpe):
    out = []
    for p in PROMPTS:
        ids = [0] + bpe.encode(p)
        out.append({'text': p, 'ids': ids, 'logits': rows(model(torch.tensor([ids]))[0, -1])})
    return out


@torch.no_grad()
def with_memory(model, bpe):
    cfg, pre = model.cfg, prefix_ids(bpe)
    refs = [bpe.encode(r) for r in REFERENCES]
    ids = [0] + bpe.encode(MEMORY_PROMPT)
    assert len(ids) <= cfg.retrieval_interval and all(len(r) <= cfg.reference_length for r in refs)
    seq, positions, memory, kept = memory_batch(model, pre, [ids], [[refs]])
    logits = model(seq, positions, memory)[0, -1]
    control = model(seq, positions, None)[0, -1]
    return {'prefix': pre, 'references': REFERENCES, 'referenceIds': refs, 'prompt': MEMORY_PROMPT, 'ids': ids,
            # Kept positions per (reference, layer, kv head): the used slots only (a reference shorter
            # than tokens_per_head keeps all its tokens; its other slots are masked).
            'positions': [[[h[:min(len(r), cfg.tokens_per_head)] for h in layer] for layer in per]
                          for r, per in zip(refs, kept[0][0].tolist())],
            'logits': rows(logits), 'logitsWithoutMemory': rows(control),
            'policy': {'memoryLayers': cfg.memory_layers, 'tokensPerHead': cfg.tokens_per_head,
                       'referenceLength': cfg.reference_length, 'memoriesPerRetrieval': cfg.memories_per_retrieval}}


@torch.no_grad()
def qa_fixture(model, bpe, n_entities=10, n_elements=6):
    """Held-out questions with their documents and PyTorch's greedy replies with memory (a bank of
    just these documents, the engine's cutter and retriever, the model's policy) and without: the
    engine, given the same documents, must reply the same (test/browser/trained-bank.test.ts)."""
    from evaluate import knowledge, qa_set
    from qa import ask
    from tasks import Bank
    docs, qs = qa_set(knowledge())
    pick = [q for q in qs if q['set'] == 'heldout_entities'][:n_entities] + [q for q in qs if q['set'] == 'elements'][:n_elements]
    used = sorted({q['doc'] for q in pick})
    bank = Bank(bpe, [docs[d][1] for d in used], model.cfg.reference_length)
    pre, out = prefix_ids(bpe), []
    for q in pick:
        mem, hits = ask(model, bpe, bank, q['question'], 'memory', pre, cut=model.cfg.min_relative_score)
        none, _ = ask(model, bpe, bank, q['question'], 'none', pre)
        out.append({'question': q['question'], 'answer': q['answer'], 'source': docs[q['doc']][0],
                    'retrieved': [docs[used[bank.refs[i][0]]][0] for i in hits], 'withMemory': mem, 'withoutMemory': none})
    return {'documents': [{'source': docs[d][0], 'text': docs[d][1]} for d in used], 'questions': out}


def bank_documents(n=12):
    """The first n held-out element entries of the knowledge set, for the engine's own bank test."""
    from evaluate import knowledge
    docs = [d for d in knowledge() if d['source'] == 'elements' and ' Symbol: ' in d['text']][:n]
    return [{'source': d['head'], 'text': d['text']} for d in docs]


def main():
    ckpt = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '.cache', 'stage2', 'ckpt.pt')
    model, _ = load(ckpt)
    round_to_f16(model)
    bpe = tokenizer()
    os.makedirs(OUT, exist_ok=True)
    json.dump({'prompts': plain(model, bpe)}, open(os.path.join(OUT, 'logits.json'), 'w'))
    json.dump(with_memory(model, bpe), open(os.path.join(OUT, 'memory-logits.json'), 'w'))
    json.dump(bank_documents(), open(os.path.join(OUT, 'bank-documents.json'), 'w'), indent=1)
    json.dump(qa_fixture(model, bpe), open(os.path.join(OUT, 'qa.json'), 'w'), indent=1)
    print('wrote', OUT)


if __name__ == '__main__':
    main()

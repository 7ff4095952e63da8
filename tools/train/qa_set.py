#!/usr/bin/env python3
"""Writes the held-out question set for the engine: bench/data/qa-heldout.json, with the documents
the bank holds ({source, text}: the held-out entities of tools/corpus/entities.py and the held-out
chemical elements' entries) and the questions ({set, relation, question, answer, source}), exactly
what evaluate.py scores in PyTorch. The engine bench (npm run bench:qa) and the shipped bank
(npm run bank:build) read it.
Usage: qa_set.py [--out PATH]"""
import argparse, json, os

from evaluate import knowledge, qa_set
from export import ROOT

OUT = os.path.join(ROOT, 'bench', 'data', 'qa-heldout.json')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=OUT)
    a = ap.parse_args()
    docs, qs = qa_set(knowledge())
    out = {'documents': [{'source': s, 'text': t} for s, t in docs],
           'questions': [{'set': q['set'], 'relation': q['relation'], 'question': q['question'], 'answer': q['answer'],
                          'source': docs[q['doc']][0]} for q in qs]}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(out, f, indent=0)
        f.write('\n')
    print(f"{a.out}: {len(out['documents'])} documents, {len(out['questions'])} questions")


if __name__ == '__main__':
    main()

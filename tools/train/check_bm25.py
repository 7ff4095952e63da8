#!/usr/bin/env python3
"""bm25.py against the engine's own LexicalRetriever (check_bm25.ts, through Node): the same
references (held-out documents cut as the engine cuts them, plus dictionary entries) and queries
(held-out questions as chat prompts, and text chunks) must give the same ranked ids and scores
(|Δscore| ≤ 1e-9). Training retrieves with bm25.py, so this is what makes its retrieval the engine's.
Usage: check_bm25.py [--refs N] [--queries N]"""
import argparse, json, os, subprocess, sys, tempfile

from data import read_docs, tokenizer
from evaluate import knowledge, qa_set
from export import ROOT
from references import split
from tasks import Bank, chat_prompt, qa_query


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--refs', type=int, default=3000)
    ap.add_argument('--queries', type=int, default=300)
    a = ap.parse_args()
    bpe = tokenizer()
    docs, qs = qa_set(knowledge())
    texts = [t for _, t in docs] + read_docs('valid.txt')[:a.refs // 2]
    bank = Bank(bpe, texts, 64)
    refs = [r[2] for r in bank.refs][:a.refs]
    queries = [qa_query(bpe, chat_prompt(bpe, q['question'])) for q in qs[:a.queries // 2]]
    queries += [' '.join(t.split()[:12]) for t in read_docs('valid.txt')[a.refs // 2:][:a.queries - len(queries)]]
    from bm25 import Bm25
    py = Bm25()
    for i, t in enumerate(refs):
        py.add(i, t)
    want = [py.search(q, 8) for q in queries]
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump({'refs': refs, 'queries': queries, 'k': 8}, f)
    try:
        out = subprocess.run(['node', '--import', 'tsx', os.path.join(os.path.dirname(__file__), 'check_bm25.ts'), f.name],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    got = json.loads(out)
    bad = 0
    for q, w, g in zip(queries, want, got):
        same = [i for i, _ in w] == [i for i, _ in g] and all(abs(x - y) <= 1e-9 for (_, x), (_, y) in zip(w, g))
        if not same:
            bad += 1
            if bad <= 3:
                print(f'differs for {q!r}:\n  bm25.py {w}\n  engine  {g}', file=sys.stderr)
    print(f'bm25: {len(queries) - bad}/{len(queries)} queries rank the same {len(refs)} references as the engine')
    if bad:
        sys.exit(1)


if __name__ == '__main__':
    main()

"""The engine's lexical retriever (src/memory/retrieval/lexical.ts: minisearch's BM25+) in Python, so
training and evaluation retrieve exactly what the engine retrieves. `check_bm25.mjs` (run by
`npm run test:train`) compares it with the TypeScript one on the same references and queries.

minisearch, as the engine configures it: terms are NFKC-normalized runs of letters/digits (each CJK
character a term), case-folded, stop words dropped; a field's length is its number of distinct raw
tokens (before case folding and stop words); each query term occurrence adds
    idf · (d + tf·(k+1) / (tf + k·(1 − b + b·len/avg_len))),  idf = ln(1 + (N − n + ½)/(n + ½))
(k 1.2, b 0.7, d 0.5); a document's sum is multiplied by its number of distinct matched query
terms; hits are ranked by score, ties by id, and scores are divided by the best one."""
import math, re, unicodedata
from collections import Counter, defaultdict

import numpy as np

STOP = {'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'for', 'from', 'in', 'is', 'it', 'of', 'on', 'or',
        'that', 'the', 'this', 'to', 'was', 'were', 'with'}
CJK = '\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff'
TOKEN = re.compile(f'[{CJK}]|(?:(?![{CJK}])[^\\W_])+')
K, B, D = 1.2, 0.7, 0.5


def raw_tokens(text):
    return TOKEN.findall(unicodedata.normalize('NFKC', text))


def terms(text):
    return [t for t in (w.lower() for w in raw_tokens(text)) if t not in STOP]


class Bm25:
    """add(id, text) then search(query, k) → [(id, score / best)], as LexicalRetriever.search.
    Ids are 0..n-1 in the order added (the scoring runs on numpy arrays over them)."""

    def __init__(self):
        self.postings = defaultdict(dict)   # term → {id: tf}
        self.length = []
        self.total = 0
        self.arrays = {}                    # term → (ids, tf) arrays, built on first use

    def add(self, doc_id, text):
        if doc_id != len(self.length):
            raise ValueError(f'Bm25 ids are added in order 0, 1, …: got {doc_id}, expected {len(self.length)}')
        toks = raw_tokens(text)
        self.length.append(len(set(toks)))
        self.total += self.length[-1]
        self.arrays.clear()
        self._len = None
        for t, n in Counter(t for t in (w.lower() for w in toks) if t not in STOP).items():
            self.postings[t][doc_id] = n

    def __len__(self):
        return len(self.length)

    def _posting(self, t):
        a = self.arrays.get(t)
        if a is None:
            post = self.postings.get(t)
            a = (np.fromiter(post.keys(), np.int64, len(post)), np.fromiter(post.values(), np.float64, len(post))) if post else None
            self.arrays[t] = a
        return a

    def _scores(self, query):
        """(ids, scores) arrays of every reference matching a query term."""
        N = len(self.length)
        if self._len is None:
            self._len = np.asarray(self.length, np.float64)
        avg = self.total / max(1, N)
        score, matched, seen = np.zeros(N), np.zeros(N, np.int64), set()
        for t in terms(query):
            a = self._posting(t)
            if a is None:
                continue
            ids, tf = a
            idf = math.log(1 + (N - len(ids) + 0.5) / (len(ids) + 0.5))
            score[ids] += idf * (D + tf * (K + 1) / (tf + K * (1 - B + B * self._len[ids] / avg)))
            if t not in seen:
                seen.add(t)
                matched[ids] += 1
        hit = np.nonzero(matched)[0]
        return hit, score[hit] * matched[hit]

    def scores(self, query):
        """{id: score} of every reference matching a query term."""
        ids, sc = self._scores(query)
        return dict(zip(ids.tolist(), sc.tolist()))

    def search(self, query, k, exclude=()):
        ids, sc = self._scores(query)
        if exclude:
            keep = ~np.isin(ids, np.fromiter(exclude, np.int64))
            ids, sc = ids[keep], sc[keep]
        if len(ids) > 4 * k + 16:   # only the best few need the exact (score, id) order
            part = np.argpartition(-sc, 4 * k + 15)[:4 * k + 16]
            floor = sc[part].min()
            sel = sc >= floor
            ids, sc = ids[sel], sc[sel]
        order = np.lexsort((ids, -sc))[:k]
        hits = list(zip(ids[order].tolist(), sc[order].tolist()))
        return [(i, v / hits[0][1]) for i, v in hits] if hits and hits[0][1] > 0 else []


def relative_cut(hits, ratio):
    """The engine's memory policy knob minRelativeScore: keep hits scoring at least `ratio` × the best."""
    if ratio is None or not hits:
        return hits
    best = hits[0][1]
    return [h for h in hits if h[1] >= ratio * best]

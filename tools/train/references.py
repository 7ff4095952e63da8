"""The engine's reference cutter (src/memory/references.ts, splitIntoReferences) in Python: a document
→ references of ≤ limit tokens, cut at a paragraph end, else a sentence end, when that keeps at least
half of the longest slice that fits, else at the last word gap; whitespace between references
belongs to none. Each reference's ids are the encoding of its text alone. Training and evaluation
cut the bank's documents exactly as the engine's addDocuments does."""
import re

PREFERRED_SHARE = 0.5
PARA = re.compile(r'(\S)[ \t\r]*\n[ \t\r]*\n')
SENTENCE = re.compile(r'([.!?。！？…]["\'”’)\]]*)(?=\s)')
WORD = re.compile(r'(\S)(?=\s)')


def _longest_fit(bpe, text, start, limit):
    fits = lambda e: len(bpe.encode(text[start:e])) <= limit
    lo = min(start + 1, len(text))
    if not fits(lo):
        raise ValueError(f'referenceLength {limit} is too small at offset {start}')
    step, hi = max(1, limit), min(lo + max(1, limit), len(text))
    while hi > lo and fits(hi):
        if hi == len(text):
            return hi
        lo, step = hi, step * 2
        hi = min(lo + step, len(text))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid <= lo:
            break
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _preferred_cut(text, start, max_end):
    if max_end >= len(text):
        return len(text)
    span = text[start:max_end + 1]
    floor = (max_end - start) * PREFERRED_SHARE // 1

    def last(rx):
        best = -1
        for m in rx.finditer(span):
            cut = m.start() + len(m.group(1))
            if 0 < cut <= max_end - start:
                best = cut
        return best
    para = last(PARA)
    if para >= floor:
        return start + para
    sent = last(SENTENCE)
    if sent >= floor:
        return start + sent
    word = last(WORD)
    return start + word if word > 0 else max_end


def split(bpe, text, limit):
    """[(text, ids)] of the references of `text`, in order."""
    out, start = [], 0
    while True:
        while start < len(text) and text[start].isspace():
            start += 1
        if start >= len(text):
            return out
        max_end = _longest_fit(bpe, text, start, limit)
        end = _preferred_cut(text, start, max_end)
        while end > start + 1 and text[end - 1].isspace():
            end -= 1
        ids = bpe.encode(text[start:end])
        if len(ids) > limit:
            end = max_end
            ids = bpe.encode(text[start:end])
        out.append((text[start:end], ids))
        start = end

#!/usr/bin/env python3
"""Builds the Memory³-tiny corpus from Debian's dictd packages (free licenses).

apt-get download + dpkg -x into a cache dir, read every .index/.dict.dz pair, turn entries into
clean ASCII text, deduplicate, and split deterministically (by SHA-1 of the text) into:
  train.txt      stage-1/2 training documents (one per line, newlines escaped as \\n)
  valid.txt      validation documents
  knowledge.jsonl the knowledge set, held out of all training text: the element entries of the
                 held-out elements (2 of every 3 elements, by atomic number), every dictionary
                 entry headed by a held-out element's name, and a 2% slice of the other entries.
The remaining third of the elements stays in train.txt so the model learns the entry format
(`Symbol:`, `Atomic number:`) it is later asked about.
Usage: build_corpus.py [--cache DIR] [--out DIR]
"""
import argparse, base64, gzip, hashlib, json, os, re, subprocess, sys, unicodedata

PACKAGES = ['dict-gcide', 'dict-wn', 'dict-foldoc', 'dict-jargon', 'dict-devil', 'dict-elements']
DICTS = ['elements', 'devil', 'jargon', 'foldoc', 'wn', 'gcide']
B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


def b64num(s):
    v = 0
    for c in s:
        v = v * 64 + B64.index(c)
    return v


def fetch(cache):
    root = os.path.join(cache, 'x', 'usr', 'share', 'dictd')
    if all(os.path.exists(os.path.join(root, d + '.index')) for d in DICTS):
        return root
    debs = os.path.join(cache, 'debs')
    os.makedirs(debs, exist_ok=True)
    subprocess.run(['apt-get', 'download', *PACKAGES], cwd=debs, check=True)
    for f in sorted(os.listdir(debs)):
        if f.endswith('.deb'):
            subprocess.run(['dpkg', '-x', os.path.join(debs, f), os.path.join(cache, 'x')], check=True)
    return root


def ascii_text(s):
    s = s.replace('\u2014', ' - ').replace('\u2013', '-').replace('\u2018', "'").replace('\u2019', "'")
    s = s.replace('\u201c', '"').replace('\u201d', '"').replace('\u00b7', '')
    s = unicodedata.normalize('NFKD', s)
    return s.encode('ascii', 'ignore').decode('ascii')


def clean(dict_name, raw):
    """One entry's text → paragraphs joined by '\n', whitespace collapsed, markup dropped."""
    t = ascii_text(raw)
    t = re.sub(r'\[(1913 Webster|WordNet[^\]]*|PJC|Webster 1913 Suppl\.|Century Dict\.|Jargon File|RHD)\]', '', t)
    t = re.sub(r'\\[^\\\n]{0,80}\\', '', t) if dict_name == 'gcide' else t   # pronunciations \Al"li*ga`tor\
    t = t.replace('{', '').replace('}', '').replace('`', '')
    t = re.sub(r'\(\d{4}-\d{2}-\d{2}\)', '', t)                              # foldoc dates
    paras = [re.sub(r'\s+', ' ', p).strip() for p in re.split(r'\n\s*\n', t)]
    return '\n'.join(p for p in paras if p)


def entries(root, name):
    data = gzip.open(os.path.join(root, name + '.dict.dz')).read()
    seen = set()
    with open(os.path.join(root, name + '.index'), encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) < 3 or parts[0].startswith('00-database') or parts[0].startswith('00database'):
                continue
            off, n = b64num(parts[1]), b64num(parts[2])
            if off in seen:
                continue
            seen.add(off)
            text = clean(name, data[off:off + n].decode('utf-8', 'replace'))
            if len(text) >= 20:
                yield parts[0], text


def bucket(text, salt):
    return int(hashlib.sha1((salt + text).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def element_number(text):
    m = re.search(r'Atomic number: (\d+)', text)
    return int(m.group(1)) if m else None


def build(root):
    docs, seen = [], set()
    for name in DICTS:
        for head, text in entries(root, name):
            key = re.sub(r'\W+', ' ', text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            docs.append({'source': name, 'head': head, 'text': text})
    held = set()
    for d in docs:
        if d['source'] == 'elements':
            z = element_number(d['text'])
            d['element'] = z
            if z is not None and z % 3 != 0:
                held.add(d['head'].lower())
    train, valid, knowledge = [], [], []
    for d in docs:
        if d['source'] == 'elements':
            (knowledge if d['head'].lower() in held else train).append(d)
        elif d['head'].lower() in held or bucket(d['text'], 'k') < 0.02:
            knowledge.append(d)
        elif bucket(d['text'], 'v') < 0.01:
            valid.append(d)
        else:
            train.append(d)
    return train, valid, knowledge


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--cache', default=os.path.join(here, '.cache', 'debian'))
    ap.add_argument('--out', default=os.path.join(here, '.cache'))
    a = ap.parse_args()
    root = fetch(a.cache)
    train, valid, knowledge = build(root)
    os.makedirs(a.out, exist_ok=True)
    for fname, part in [('train.txt', train), ('valid.txt', valid)]:
        with open(os.path.join(a.out, fname), 'w') as f:
            for d in part:
                f.write(d['text'].replace('\n', '\\n') + '\n')
    with open(os.path.join(a.out, 'knowledge.jsonl'), 'w') as f:
        for d in knowledge:
            f.write(json.dumps(d) + '\n')
    stats = {k: {'docs': len(v), 'chars': sum(len(d['text']) for d in v)} for k, v in
             [('train', train), ('valid', valid), ('knowledge', knowledge)]}
    stats['knowledge_elements'] = sum(1 for d in knowledge if d['source'] == 'elements')
    json.dump(stats, open(os.path.join(a.out, 'stats.json'), 'w'), indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    sys.exit(main())

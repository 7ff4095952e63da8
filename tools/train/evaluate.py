#!/usr/bin/env python3
"""Evaluation of the trained model with and without explicit memory (PyTorch, the policy the engine
runs: its reference cutter, its BM25 retriever, its writer's selection, parallel positions):

- Question answering (qa.py) on the held-out set (tools/corpus/entities.py): entities whose names
  never occur in training, asked in training phrasings ("heldout_entities") or written and asked only
  in phrasings training never saw ("heldout_phrasings"), and the real held-out chemical elements'
  entries ("elements": symbol and atomic number). The bank holds all held-out documents. Modes: none,
  rag (the retrieved references' text in the question), memory (the model's policy, with its
  relative-score cut), memory_all (the cut off: memoriesPerRetrieval references), memory_gold (only
  the answer's own references: how well the model reads, retrieval aside). Exact match per set, per
  relation, and the share of answer tokens that the writer's top-k keeps in every memory layer.
  Greedy decoding stops once the reply can no longer match (qa.generate's `answer`): the examples'
  replies that missed are shown that far.
- Perplexity: validation text, and 48 knowledge-set documents (dictionary entries held out of
  training) with their own references excluded and the paper's 2/3 near-copy rule: none, rag, memory.
Writes bench/results/eval.json; the last line printed is the summary.
Usage: evaluate.py [CKPT | --exported] [--smoke] [--questions N]"""
import argparse, json, math, os, random
from collections import defaultdict

import torch
import torch.nn.functional as F

from data import BOS, CACHE, CORPUS, EOS, read_docs, stream, tokenizer, windows
from export import ROOT, load, load_exported
from memory import memory_batch, overlap_ratio, prefix_ids
from model import encode_memories
from qa import ask, exact_match, generate, reply_text
from tasks import Bank, chat_prompt, heldout, qa_query
import entities as E

RESULTS = os.path.join(ROOT, 'bench', 'results', 'eval.json')


def knowledge():
    return [json.loads(l) for l in open(os.path.join(CORPUS, 'knowledge.jsonl'))]


def qa_set(kdocs):
    """(bank documents [(source, text)], questions [{set, relation, question, answer, doc}])."""
    items = heldout()
    docs = [(it['id'], it['text']) for it in items]
    qs = [{'set': 'heldout_phrasings' if it['heldout_phrasing'] else 'heldout_entities', 'relation': q['relation'],
           'question': q['question'], 'answer': q['answer'], 'doc': i} for i, it in enumerate(items) for q in it['questions']]
    rng = random.Random(0)
    for d in kdocs:
        f = E.element_facts(d['text']) if d['source'] == 'elements' else None
        if not f:
            continue
        docs.append((f"elements/{d['head']}", d['text']))
        for rel in ['symbol', 'atomic_number']:
            q, a = E.element_question(rng, f[0], rel, f[1])
            qs.append({'set': 'elements', 'relation': rel, 'question': q, 'answer': a, 'doc': len(docs) - 1})
    return docs, qs


def answer_span(bpe, ref_ids, answer):
    """Token indices of the reference that carry the answer's characters (empty when absent)."""
    text, ans = bpe.decode(ref_ids), answer.rstrip('.')
    at = text.find(ans)
    if at < 0:
        return []
    out, pos = [], 0
    for j, t in enumerate(ref_ids):
        piece = bpe.decode([t])
        if pos < at + len(ans) and pos + len(piece) > at:
            out.append(j)
        pos += len(piece)
    return out


@torch.no_grad()
def kept_share(model, bpe, pre, bank, q):
    """Share of the answer's tokens (in the answer's own reference) kept in every memory layer by at
    least one KV head; None when no reference of its document holds the answer text."""
    for i in bank.of_doc[q['doc']]:
        span = answer_span(bpe, bank.refs[i][1], q['answer'])
        if span:
            _, _, pos, _ = encode_memories(model, pre, [bank.refs[i][1]])
            kept = [set((pos[0, l].flatten() - len(pre)).tolist()) for l in range(pos.shape[1])]
            return sum(all(t in k for k in kept) for t in span) / len(span)
    return None


def run_qa(model, bpe, pre, bank, qs, modes, cut):
    cfg = model.cfg
    res = {m: defaultdict(lambda: [0, 0]) for m in modes}
    examples, retrieved, kept = [], 0, []
    for n, q in enumerate(qs):
        for mode in modes:
            if mode == 'memory_gold':
                prompt = chat_prompt(bpe, q['question'])
                hits = [i for i in bank.retrieve(qa_query(bpe, prompt), len(bank.refs)) if bank.refs[i][0] == q['doc']][:cfg.memories_per_retrieval]
                reply = reply_text(bpe, generate(model, bpe, prompt, pre, [bank.refs[i][1] for i in hits], answer=q['answer']))
            else:
                reply, hits = ask(model, bpe, bank, q['question'], 'memory' if mode.startswith('memory') else mode, pre,
                                  cut=None if mode == 'memory_all' else cut, answer=q['answer'])
            ok = exact_match(reply, q['answer'])
            for key in ('all', q['set'], f"{q['set']}/{q['relation']}"):
                res[mode][key][0] += ok
                res[mode][key][1] += 1
            if mode == 'memory':
                retrieved += any(bank.refs[i][0] == q['doc'] for i in hits)
                res['memory_spliced'] = res.get('memory_spliced', 0) + len(hits)
            if n < 3 or (n % 97 == 0):
                examples.append({'mode': mode, 'question': q['question'], 'answer': q['answer'], 'reply': reply,
                                 'memories': [bank.refs[i][2][:60] for i in hits]})
        s = kept_share(model, bpe, pre, bank, q)
        if s is not None:
            kept.append(s)
    pct = {m: {k: round(100.0 * v[0] / v[1], 1) for k, v in sorted(res[m].items())} for m in modes}
    counts = {k: v[1] for k, v in sorted(res[modes[0]].items())}
    return {'exact_match_pct': pct, 'questions': counts, 'examples': examples,
            'answer_reference_retrieved_pct': round(100.0 * retrieved / len(qs), 1),
            'memories_spliced_per_question': round(res.get('memory_spliced', 0) / len(qs), 2),
            'answer_tokens_kept_pct': round(100.0 * sum(kept) / max(1, len(kept)), 1),
            'answers_fully_kept_pct': round(100.0 * sum(k == 1 for k in kept) / max(1, len(kept)), 1)}


@torch.no_grad()
def nll_none(model, ids):
    lo = model(torch.tensor([ids[:-1]]))[0]
    return F.cross_entropy(lo, torch.tensor(ids[1:]), reduction='sum').item(), len(ids) - 1


def chunk_refs(bpe, bank, ctx, n, k, exclude, dedup=2 / 3):
    """Per retrieval_interval chunk of ctx: reference indices (own document excluded, near-copies dropped)."""
    out = []
    for c in range(0, len(ctx), n):
        chunk = [t for t in ctx[c:c + n] if t not in (BOS, EOS)]
        hits = bank.retrieve(bpe.decode(chunk), 3 * k, None, exclude)
        out.append([i for i in hits if dedup is None or overlap_ratio(chunk, bank.refs[i][1]) <= dedup][:k])
    return out


@torch.no_grad()
def nll_memory(model, bpe, bank, ids, pre, exclude, encode=None):
    cfg, ctx = model.cfg, ids[:-1]
    per = chunk_refs(bpe, bank, ctx, cfg.retrieval_interval, cfg.memories_per_retrieval, exclude)
    seq, pos, mem, _ = memory_batch(model, pre, [ctx], [[[bank.refs[i][1] for i in ch] for ch in per]], encode=encode)
    lo = model(seq, pos, mem)[0, len(pre):]
    return F.cross_entropy(lo, torch.tensor(ids[1:]), reduction='sum').item(), len(ids) - 1


@torch.no_grad()
def nll_rag(model, bpe, bank, ids, exclude):
    cfg, ctx, total, count = model.cfg, ids[:-1], 0.0, 0
    per = chunk_refs(bpe, bank, ctx, cfg.retrieval_interval, cfg.memories_per_retrieval, exclude)
    for c, refs in zip(range(0, len(ctx), cfg.retrieval_interval), per):
        front = [t for i in refs for t in [BOS] + bank.refs[i][1] + [EOS]]
        end = min(c + cfg.retrieval_interval, len(ctx))
        lo = model(torch.tensor([front + ctx[:end]]))[0, len(front) + c:]
        total += F.cross_entropy(lo, torch.tensor(ids[c + 1:end + 1]), reduction='sum').item()
        count += end - c
    return total, count


def perplexities(model, bpe, pre, kdocs, n_docs, smoke):
    """Validation perplexity, and knowledge-set perplexity with each document's own references excluded."""
    rng = random.Random(0)
    docs = [d for d in kdocs if d['source'] != 'elements']
    bank = Bank(bpe, [d['text'] for d in docs], model.cfg.reference_length)
    sample = rng.sample(range(len(docs)), 3 if smoke else n_docs)
    texts = [([BOS] + bpe.encode(docs[i]['text'])[:model.cfg.retrieval_interval * 2], i) for i in sample]
    val = windows(stream('valid.txt', 600_000), 128)[:8 if smoke else 32]
    with torch.no_grad():
        vppl = math.exp(sum(F.cross_entropy(model(w[None, :-1])[0], w[1:]).item() for w in val) / len(val))
    modes = {'none': lambda ids, d: nll_none(model, ids),
             'rag': lambda ids, d: nll_rag(model, bpe, bank, ids, [d]),
             'memory': lambda ids, d: nll_memory(model, bpe, bank, ids, pre, [d])}
    ppl = {}
    for name, f in modes.items():
        s = [f(ids, d) for ids, d in texts]
        ppl[name] = round(math.exp(sum(x for x, _ in s) / sum(n for _, n in s)), 2)
    return {'validation_ppl': round(vppl, 2), 'knowledge_ppl': ppl, 'knowledge_docs_scored': len(texts),
            'knowledge_bank_references': len(bank.refs)}


def curves():
    out = {}
    for stage in ['stage1', 'stage2']:
        p = os.path.join(CACHE, stage, 'log.jsonl')
        if os.path.exists(p):
            rows = [json.loads(l) for l in open(p)]
            out[stage] = {'steps': rows[-1]['step'], 'minutes': rows[-1]['min'], 'tokens': rows[-1].get('tokens')}
            if stage == 'stage1':
                out[stage]['val_loss'] = [(r['step'], r['val']) for r in rows if 'val' in r]
            else:
                out[stage]['heldout_em'] = [(r['step'], r['heldout_em']) for r in rows if 'heldout_em' in r]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ckpt', nargs='?', default=os.path.join(CACHE, 'stage2', 'ckpt.pt'))
    ap.add_argument('--exported', action='store_true', help='the shipped model folder instead of a checkpoint')
    ap.add_argument('--smoke', action='store_true')
    ap.add_argument('--questions', type=int, default=None, help='score only the first N questions of each set')
    ap.add_argument('--docs', type=int, default=48)
    ap.add_argument('--out', default=RESULTS)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.exported:
        model, ck = load_exported(), {}
    else:
        model, ck = load(a.ckpt)
    cfg, bpe = model.cfg, tokenizer()
    pre = prefix_ids(bpe)
    kdocs = knowledge()
    docs, qs = qa_set(kdocs)
    limit = 4 if a.smoke else a.questions
    if limit:
        per = defaultdict(int)
        qs = [q for q in qs if (per.__setitem__(q['set'], per[q['set']] + 1) or per[q['set']] <= limit)]
    bank = Bank(bpe, [t for _, t in docs], cfg.reference_length)
    cut = cfg.min_relative_score
    modes = ['none', 'rag', 'memory', 'memory_all', 'memory_gold']
    res = {'checkpoint': 'public/models/memory3-tiny' if a.exported else os.path.relpath(a.ckpt, ROOT),
           'stage1_steps': ck.get('stage1_step'), 'stage2_steps': ck.get('step'), 'stage2_tokens': ck.get('stage2_tokens'),
           'policy': {'memory_layers': cfg.memory_layers, 'tokens_per_head': cfg.tokens_per_head, 'reference_length': cfg.reference_length,
                      'memories_per_retrieval': cfg.memories_per_retrieval, 'retrieval_interval': cfg.retrieval_interval,
                      'min_relative_score': cut, 'dedup_threshold': None},
           'qa_bank': {'documents': len(docs), 'references': len(bank.refs)}}
    res['qa'] = run_qa(model, bpe, pre, bank, qs, modes, cut)
    res.update(perplexities(model, bpe, pre, kdocs, a.docs, a.smoke))
    res['training'] = curves()
    em, n = res['qa']['exact_match_pct'], res['qa']['questions']
    h = 'heldout_entities'
    line = (f"qa: memory {em['memory'][h]:.1f}% none {em['none'][h]:.1f}% rag {em['rag'][h]:.1f}% ({n[h]} questions); "
            f"held-out phrasings memory {em['memory']['heldout_phrasings']:.1f}%, elements memory {em['memory']['elements']:.1f}%; "
            f"knowledge ppl none {res['knowledge_ppl']['none']:.2f} memory {res['knowledge_ppl']['memory']:.2f}")
    res['summary'] = line
    if not a.smoke:
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        json.dump(res, open(a.out, 'w'), indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != 'qa'}, indent=1))
    print(json.dumps({k: v for k, v in res['qa'].items() if k != 'examples'}, indent=1))
    print(line)


if __name__ == '__main__':
    main()
